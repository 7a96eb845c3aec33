"""Run the benchmarks and print the table: `python -m bench [part ...] [--seconds S] [--overload-seconds S]`.

Parts: single, batched, pipeline, overload, storage, query, workers, edge, stats, dashboard, sql (default:
all, in that order).
Every part starts its own servers or stores on 127.0.0.1 and temporary directories, and cleans up after itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import dashboard, edge, http, pipeline, sql, stats, store, workers
from .table import Row, render

PARTS = ("single", "batched", "pipeline", "overload", "storage", "query", "workers", "edge", "stats", "dashboard",
         "sql", "replay")
DEFAULT = tuple(p for p in PARTS if p != "replay")  # replay is a before/after comparison, run on request


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("parts", nargs="*", help=f"parts to run, of {', '.join(PARTS)} (default: all but replay)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured load per HTTP figure")
    parser.add_argument("--overload-seconds", type=float, default=60.0, help="duration of the overload figure")
    parser.add_argument("--storage-rows", type=int, default=1_000_000)
    parser.add_argument("--query-rows", type=int, default=10_000_000)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    parts = args.parts or list(DEFAULT)
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    raw: dict[str, Any] = {}
    rows: list[Row] = []
    runners: dict[str, Callable[[], tuple[list[Row], dict[str, Any]]]] = {
        "single": lambda: http.single(args.seconds),
        "batched": lambda: http.batched(args.seconds),
        "replay": lambda: http.replay(args.seconds),
        "pipeline": pipeline.run,
        "overload": lambda: http.overload(args.overload_seconds, raw.get("single", {}).get("landed_per_s")),
        "storage": lambda: store.storage_rows(args.storage_rows),
        "query": lambda: store.query_rows(args.query_rows),
        "workers": lambda: workers.run(args.seconds),
        "edge": edge.run,
        "stats": lambda: stats.stats_rows(args.query_rows),
        "dashboard": lambda: dashboard.dashboard_rows(args.query_rows),
        "sql": lambda: sql.run(args.seconds, args.query_rows),
    }
    started = time.monotonic()
    for part in parts:
        t0 = time.monotonic()
        part_rows, raw[part] = runners[part]()
        rows += part_rows
        print(f"[{part}: {time.monotonic() - t0:.0f} s]", flush=True)
    print()
    print(f"{len(os.sched_getaffinity(0))} cores, {platform.python_implementation()} {platform.python_version()}, "
          f"one uvicorn worker, 64 connections; whole run {time.monotonic() - started:.0f} s")
    print(render(rows))
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2, default=str))


if __name__ == "__main__":
    main()
