"""Batched writes: rows are buffered in memory and inserted by one background thread, so the event
loop never waits on ClickHouse and no event is ever inserted on its own.

Flushes at `flush_rows` rows, `flush_interval_ms` after the oldest buffered row, and on close.
A failed batch is retried with backoff under the same deduplication token, so a retry that reached
the store before failing is not inserted twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from . import receipts
from .event import Reason
from .metrics import Metrics
from .row import COLUMNS
from .store import Store

log = logging.getLogger("collector.writer")
DROP_COLUMNS = ("site", "day", "reason", "events", "retention_days")
# Tables the pipeline writes rows to (event.table), with their column lists.
TABLES: dict[str, tuple[str, ...]] = {"analytics.events": COLUMNS, receipts.TABLE: receipts.COLUMNS}
_MAX_BACKOFF_S = 30.0


class Overloaded(Exception):
    """The buffer is full: the caller answers 503 with Retry-After instead of growing memory."""


class Writer:
    def __init__(self, store: Store, metrics: Metrics, *, flush_rows: int, flush_interval_ms: int,
                 max_rows: int, drop_retention: Callable[[str], int],
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._metrics = metrics
        self._flush_rows = flush_rows
        self._interval_s = flush_interval_ms / 1000
        self._max_rows = max_rows
        self._drop_retention = drop_retention
        self._clock = clock
        self._cond = threading.Condition()
        self._rows: list[tuple[str, bytes]] = []
        self._drops: Counter[tuple[str, int, str]] = Counter()
        self._oldest = 0.0
        self._in_flight = 0
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="collector-writer", daemon=True)
        metrics.gauge("collector_buffer_rows", lambda: len(self._rows) + self._in_flight)

    def start(self) -> None:
        self._thread.start()

    @property
    def depth(self) -> int:
        return len(self._rows) + self._in_flight

    def submit(self, rows: Sequence[tuple[str, list[Any]]],
               dropped: Iterable[tuple[tuple[str, Reason], int]] = ()) -> None:
        """Queue (table, row) pairs and drop counts for insertion; raise Overloaded when full."""
        encoded = [(table, orjson.dumps(row)) for table, row in rows]
        day = int(self._clock() // 86400)
        with self._cond:
            if self._closing:
                raise Overloaded("shutting down")
            if encoded and len(self._rows) + self._in_flight + len(encoded) > self._max_rows:
                raise Overloaded("buffer full")
            if not self._rows and not self._drops:
                self._oldest = time.monotonic()
            self._rows.extend(encoded)
            for (site, reason), n in dropped:
                self._drops[(site, day, reason.value)] += n
            if len(self._rows) >= self._flush_rows:
                self._cond.notify()

    def flush(self, timeout_s: float = 30.0) -> None:
        """Insert everything buffered now and wait until it is stored (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._oldest = 0.0
            self._cond.notify()
            while (self._rows or self._drops or self._in_flight) and time.monotonic() < deadline:
                self._cond.wait(0.05)
                self._oldest = 0.0
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join()

    def _take(self) -> tuple[list[tuple[str, bytes]], Counter[tuple[str, int, str]]] | None:
        with self._cond:
            while True:
                due = self._oldest + self._interval_s
                pending = self._rows or self._drops
                if pending and (len(self._rows) >= self._flush_rows or time.monotonic() >= due or self._closing):
                    rows, drops = self._rows, self._drops
                    self._rows, self._drops = [], Counter()
                    self._in_flight = len(rows)
                    return rows, drops
                if self._closing:
                    return None
                self._cond.wait(max(0.001, due - time.monotonic()) if pending else None)

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            rows, drops = batch
            self._insert_with_retry(rows, drops)
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()

    def _insert_with_retry(self, rows: list[tuple[str, bytes]], drops: Counter[tuple[str, int, str]]) -> None:
        token = uuid.uuid4().hex
        backoff = 0.1
        while True:
            try:
                self._insert(rows, drops, token)
                return
            except Exception as exc:  # infrastructure failure: keep the batch, retry
                self._metrics.inc("collector_flush_errors_total")
                log.warning("insert failed, will retry", extra={"error": type(exc).__name__,
                                                                 "rows": len(rows), "retry_in_s": backoff})
                time.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _insert(self, rows: list[tuple[str, bytes]], drops: Counter[tuple[str, int, str]], token: str) -> None:
        for table, columns in TABLES.items():
            block = [row for t, row in rows if t == table]
            if block:
                self._store.insert_rows(table, columns, b"\n".join(block), f"{token}-{table}")
                self._metrics.inc("collector_rows_flushed_total", len(block), table=table.split(".")[-1])
        if drops:
            block = b"\n".join(
                orjson.dumps([site, dt.date.fromordinal(719163 + day).isoformat(), reason, n,
                              self._drop_retention(site)])
                for (site, day, reason), n in drops.items())
            self._store.insert_rows("analytics.dropped_daily", DROP_COLUMNS, block, token + "-drops")
