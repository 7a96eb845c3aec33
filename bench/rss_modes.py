"""Memory of a collector process by mode: embedded (the chDB engine in the process) and server (the process
only sends to a ClickHouse server). The server is a stand-in, an embedded collector's /sql (ClickHouse's HTTP
interface over its engine), so the server-mode figure is the collector alone; the stand-in's own figure is
an embedded collector's. Prints RSS (VmRSS) after start-up and the peak (VmHWM) after N events.

    python -m bench.rss_modes [events]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from .servers import ROOT, free_port

TOKEN = "bench-admin-token"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
# Until CLICKHOUSE_URL takes proxy_path itself, the server-mode process connects through `collector move`'s parser.
SERVER_MODE = ("import sys, collector.store as s, collector.move as m; s._server_client = m.connect; "
               "from collector.cli import main; sys.exit(main(sys.argv[1:]))")


def status(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, *args, "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the collector did not become ready")


def load(port: int, events: int) -> None:
    body = orjson.dumps([{"site": "test.example", "type": "pageview", "url": f"https://test.example/p{i % 50}",
                          "consent": {}} for i in range(100)])
    with httpx.Client(headers={"content-type": "application/json", "user-agent": UA}) as client:
        for _ in range(events // 100):
            assert client.post(f"http://127.0.0.1:{port}/api/event", content=body).status_code == 202


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sites.toml"
        config.write_text('[sites."test.example"]\ndomains = ["test.example"]\n')
        base = {**os.environ, "COLLECTOR_CONFIG": str(config), "COLLECTOR_ADMIN_TOKEN": TOKEN,
                "COLLECTOR_LOG_LEVEL": "WARNING"}
        server_port, port = free_port(), free_port()
        stand_in = start(["-m", "collector"], {**base, "COLLECTOR_DATA_DIR": f"{tmp}/server"}, server_port)
        url = f"http://admin:{TOKEN}@127.0.0.1:{server_port}/analytics?proxy_path=/sql"
        client = start(["-c", SERVER_MODE], {**base, "COLLECTOR_DATA_DIR": f"{tmp}/client", "CLICKHOUSE_URL": url},
                       port)
        try:
            idle = {"server mode": status(client.pid, "VmRSS"), "embedded": status(stand_in.pid, "VmRSS")}
            chdb = "chdb" in Path(f"/proc/{client.pid}/maps").read_text()
            load(port, events)
            time.sleep(3)  # the writer's flush interval: the rows reach the server (and its views)
            peak = {"server mode": status(client.pid, "VmHWM"), "embedded": status(stand_in.pid, "VmHWM")}
        finally:
            for proc in (client, stand_in):
                proc.terminate()
                proc.wait(60)
    print(f"events sent through the server-mode collector: {events}; chDB mapped in it: {chdb}")
    for mode in ("server mode", "embedded"):
        print(f"{mode:12s} RSS after start {idle[mode]:6.0f} MiB   peak after load {peak[mode]:6.0f} MiB")


if __name__ == "__main__":
    main()
