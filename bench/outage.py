"""The long store-outage run: a steady load of a few hundred events/s for `--seconds` (default 120) over
HTTP, with the raw table detached (every insert a real engine error) for the middle half; then the
counts: acknowledged, stored, duplicates, refusals, the deepest spool and the time to drain.

    python -m bench.outage [--seconds 120] [--rate 300]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson
import uvicorn

from collector.app import create_app
from collector.settings import Settings
from collector.store import open_store

CONFIG = '[sites."bench.example"]\ndomains = ["bench.example"]\n'
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def load(url: str, n: int, rate_per_thread: float, stop: threading.Event, acked: list[str],
         statuses: dict[object, int], lock: threading.Lock) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        i, start = 0, time.monotonic()
        while not stop.is_set():
            paths = [f"/o/{n}-{i}-{k}" for k in range(3)]
            body = orjson.dumps([{"site": "bench.example", "type": "pageview", "consent": {},
                                  "url": f"https://bench.example{p}"} for p in paths])
            try:
                status: object = client.post("/api/event", content=body, headers={
                    "content-type": "application/json", "user-agent": UA}).status_code
            except httpx.HTTPError:
                status = "error"
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 202:
                    acked.extend(paths)
            i += 1
            stop.wait(max(0.0, start + i * 3 / rate_per_thread - time.monotonic()))  # pacing


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--seconds", type=float, default=120)
    args.add_argument("--rate", type=float, default=300, help="events per second")
    opts = args.parse_args()
    root = Path(tempfile.mkdtemp(prefix="outage-"))
    (root / "sites.toml").write_text(CONFIG)
    settings = Settings(data_dir=root / "data", config_path=root / "sites.toml", retry_max_ms=1000)
    store = open_store(settings)
    app = create_app(settings, store=store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    collector = app.state.collector
    stop, lock = threading.Event(), threading.Lock()
    acked: list[str] = []
    statuses: dict[object, int] = {}
    threads = [threading.Thread(target=load, args=(f"http://127.0.0.1:{port}", n, opts.rate / 4, stop, acked,
                                                   statuses, lock)) for n in range(4)]
    for t in threads:
        t.start()
    deepest = 0
    time.sleep(opts.seconds / 4)
    store.command("DETACH TABLE analytics.events")
    outage_start = time.monotonic()
    while time.monotonic() - outage_start < opts.seconds / 2:
        deepest = max(deepest, collector.writer.depth)
        time.sleep(0.1)
    store.command("ATTACH TABLE analytics.events")
    recovered = time.monotonic()
    drained_after = None
    while time.monotonic() - recovered < opts.seconds / 4:
        if drained_after is None and collector.writer.depth < 50:
            drained_after = time.monotonic() - recovered
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    collector.writer.flush(60)
    rows = dict(store.query("SELECT path, count() FROM analytics.events GROUP BY path"))
    server.should_exit = True
    thread.join(30)
    dup = sum(1 for n in rows.values() if n > 1)
    lost = len(set(acked) - set(rows))
    print(orjson.dumps({
        "seconds": opts.seconds, "target_events_per_s": opts.rate, "outage_s": opts.seconds / 2,
        "acknowledged": len(acked), "stored": sum(rows.values()), "distinct_stored": len(rows), "lost": lost,
        "duplicates": dup, "statuses": {str(k): v for k, v in statuses.items()},
        "insert_failures": collector.metrics.get("collector_flush_errors_total"),
        "deepest_spool_rows": deepest, "drained_after_s": drained_after,
    }, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
