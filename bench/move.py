"""`collector move` throughput: an embedded store of N generated events (and the rollups its views fill) moved
to a server. The server is a stand-in, an embedded collector's /sql (ClickHouse's HTTP interface over its own
engine, on this machine), so the figure includes that engine's inserts. Prints rows, seconds and rows/s.

    python -m bench.move [events]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import generate
from .rss_modes import TOKEN, start
from .servers import ROOT, free_port

POPULATE = """
import sys
from pathlib import Path
from collector.settings import Settings
from collector.store import migrate, open_store
store = open_store(Settings(data_dir=Path(sys.argv[1])))
migrate(store)
store.command(sys.stdin.read())
store.close()
"""


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source"
        subprocess.run([sys.executable, "-c", POPULATE, str(source)], cwd=ROOT, check=True, text=True,
                       input=f"INSERT INTO analytics.events {generate.events_select(events)}")
        config = Path(tmp) / "sites.toml"
        config.write_text('[sites."bench.example"]\ndomains = ["bench.example"]\n')
        port = free_port()
        env = {**os.environ, "COLLECTOR_CONFIG": str(config), "COLLECTOR_ADMIN_TOKEN": TOKEN,
               "COLLECTOR_LOG_LEVEL": "WARNING"}
        server = start(["-m", "collector"], {**env, "COLLECTOR_DATA_DIR": f"{tmp}/server"}, port)
        try:
            began = time.monotonic()
            moved = subprocess.run([sys.executable, "-m", "collector", "move", "--to",
                                    f"http://admin:{TOKEN}@127.0.0.1:{port}/analytics?proxy_path=/sql"],
                                   cwd=ROOT, env={**env, "COLLECTOR_DATA_DIR": str(source)}, capture_output=True,
                                   text=True, timeout=3600)
            seconds = time.monotonic() - began
        finally:
            server.terminate()
            server.wait(60)
    assert moved.returncode == 0, moved.stdout + moved.stderr[-500:]
    counts = [line.split("\t") for line in moved.stdout.splitlines()[1:]]
    rows = sum(int(c[1]) for c in counts)
    print(f"events {events:,}; rows moved (every table) {rows:,} in {len(counts)} tables; "
          f"{seconds:.1f} s; {rows / seconds:,.0f} rows/s")


if __name__ == "__main__":
    main()
