# ruff: noqa: E501  (result dicts read better unwrapped)
"""Ingest latency while visits are being closed: `python -m bench.visits_lock [rows]` prints one `BENCH {json}`.

An embedded store holds `rows` generated events over 30 days. A writer thread inserts blocks of 500 events
through `Store.insert_rows` (the collector writer's path, under the store lock) back to back, recording each
insert's latency with its wait for the lock; meanwhile the main thread, phase by phase:

- idles (the baseline);
- closes one day in a single statement (as closing was before the day was cut into pieces);
- closes another day of the same size in pieces of visitors (`close_day` now);
- runs the first `visits_open` round over the open days (everything stored is new to it) in one statement,
  then again in pieces (`update_open` now);
- runs a steady round: only the rows stored since the last one.

For each phase: the main thread's seconds; the writer's inserts with their p50 / p99 / max latency and,
apart, their wait for the store lock (p99 / max); and the longest the closer held the lock at once. The
insert latency includes the insert itself, which on a busy machine can dwarf the wait.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collector import visits, visits_open
from collector.settings import Settings
from collector.store import Store, migrate, open_store

from . import generate
from . import store as bench_store

BLOCK = 500
SITE = "bench.example"


class TimedLock:
    """The store lock, timing each acquisition's wait and hold for the thread that takes it."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock
        self.waits: dict[str, list[float]] = {}
        self.holds: dict[str, list[float]] = {}
        self._local = threading.local()

    def __enter__(self) -> None:
        t0 = time.perf_counter()
        self._lock.acquire()
        self._local.t = time.perf_counter()
        self.waits.setdefault(threading.current_thread().name, []).append(self._local.t - t0)

    def __exit__(self, *exc: object) -> None:
        self.holds.setdefault(threading.current_thread().name, []).append(time.perf_counter() - self._local.t)
        self._lock.release()

    def reset(self) -> None:
        self.waits, self.holds = {}, {}


def _pct(values: list[float], q: float) -> float:
    values = sorted(values) or [0.0]
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1e3, 1)


class Inserter:
    """Inserts blocks back to back on a thread; `latencies` since the last `mark()`."""

    def __init__(self, store: Store, blocks: list[bytes], columns: list[str]) -> None:
        self.store, self.blocks, self.columns = store, blocks, columns
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="writer")
        self._n = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            block = self.blocks[self._n % len(self.blocks)]
            t0 = time.perf_counter()
            self.store.insert_rows("analytics.events", self.columns, block, f"lock-bench-{self._n}")
            self.latencies.append(time.perf_counter() - t0)
            self._n += 1
            time.sleep(0.005)  # a writer flushes small batches often; leave the lock to others in between

    def start(self) -> None:
        self._thread.start()

    def mark(self) -> None:
        self.latencies = []

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)


def _phase(ins: Inserter, lock: TimedLock, work: Callable[[], Any]) -> dict[str, Any]:
    ins.mark()
    lock.reset()
    t0 = time.perf_counter()
    work()
    seconds = time.perf_counter() - t0
    lat = sorted(ins.latencies) or [0.0]
    waits = lock.waits.get("writer", [])
    return {"seconds": round(seconds, 3), "inserts": len(ins.latencies), "p50_ms": round(statistics.median(lat) * 1e3, 1),
            "p99_ms": _pct(lat, 0.99), "max_ms": _pct(lat, 1.0), "lock_wait_p99_ms": _pct(waits, 0.99),
            "lock_wait_max_ms": _pct(waits, 1.0), "closer_longest_hold_ms": _pct(lock.holds.get("MainThread", []), 1.0)}


def run(rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-visits-lock-") as tmp:
        store = open_store(Settings(data_dir=Path(tmp)))
        migrate(store)
        fill_s = bench_store._fill(store, rows)
        with store.lock:
            text = store.client.raw_query(f"SELECT * FROM ({generate.events_select(20 * BLOCK, 90_000_000)}) "
                                          "FORMAT JSONCompactEachRow")
        lines = text.splitlines(keepends=True)
        blocks = [b"".join(lines[i:i + BLOCK]) for i in range(0, len(lines), BLOCK)]
        columns = [r[0] for r in store.query("SELECT name FROM system.columns WHERE database = 'analytics' "
                                             "AND table = 'events' AND name != 'inserted' ORDER BY position")]
        now = time.time()
        today = dt.datetime.fromtimestamp(now, dt.UTC).date()
        day_a, day_b = today - dt.timedelta(days=10), today - dt.timedelta(days=11)
        per_day = store.query("SELECT count() FROM analytics.events WHERE site = {s:String} AND toDate(ts) = {d:Date}",
                               {"s": SITE, "d": day_a})[0][0]
        lock = TimedLock(store.lock)
        store.lock = lock  # type: ignore[assignment]
        ins = Inserter(store, blocks, columns)
        ins.start()
        out: dict[str, Any] = {"rows": rows, "fill_s": round(fill_s, 1), "rows_per_day": per_day,
                               "close_chunk_rows": visits.CLOSE_CHUNK_ROWS, "open_chunk_rows": visits_open.OPEN_CHUNK_ROWS}
        out["idle"] = _phase(ins, lock, lambda: time.sleep(5))
        out["close_day_one_statement"] = _phase(ins, lock, lambda: visits.close_day(store, SITE, day_a, chunk_rows=10**12))
        out["close_day_pieces"] = _phase(ins, lock, lambda: visits.close_day(store, SITE, day_b))
        first = {}
        out["first_round_one_statement"] = _phase(
            ins, lock, lambda: first.update(visits_open.update_open(store, now, chunk_rows=10**12)))
        store.command("TRUNCATE TABLE analytics.visits_watermark")
        store.command("TRUNCATE TABLE analytics.visits_open")
        out["first_round_pieces"] = _phase(ins, lock, lambda: first.update(visits_open.update_open(store, now)))
        out["first_round_rows"], out["first_round_pieces_n"] = first["rows"], first["pieces"]
        time.sleep(3)
        steady: dict[str, Any] = {}
        out["steady_round"] = _phase(ins, lock, lambda: steady.update(visits_open.update_open(store, now)))
        out["steady_round_rows"] = steady["rows"]
        ins.stop()
        store.lock = lock._lock
        store.close()
    return out


if __name__ == "__main__":
    print("BENCH " + json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000), default=str))
