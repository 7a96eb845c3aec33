"""Batched writes from the spool: requests append their rows to the spool (collector/spool.py) and one
background thread inserts sealed segments into ClickHouse, so the event loop never waits on ClickHouse
and no event is ever inserted on its own.

A segment is inserted per table with the deduplication token `<segment name>-<table>`; the tables keep
a non-replicated deduplication window and `deduplicate_blocks_in_dependent_materialized_views` is set,
so a retry, or a replay after a crash, of a segment ClickHouse already stored adds nothing to the raw
table or the rollups. A failed insert is retried with capped backoff for as long as the failure lasts
(the store may be down, or up and busy: the spool keeps accepting until its cap, then ingest answers
503); the segment is removed only once every table accepted it. Only a segment the store refuses
because of its own rows (refusals.py: a parse or type error named by ClickHouse's error code) is set
aside in the spool's quarantine, with the list of its tables already stored, for `collector spool
replay` (quarantine.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import orjson

from . import breakdown, crashpoints, duplicates, receipts, refusals
from .event import Reason
from .metrics import Metrics
from .row import COLUMNS
from .segments import Segment, records
from .spool import Spool, SpoolFull, Waiter
from .store import Store

log = logging.getLogger("collector.writer")
DROPS = "analytics.dropped_daily"
DROP_COLUMNS = ("site", "day", "reason", "events", "retention_days")
# Tables the writer inserts into, in order, with their column lists.
TABLES: dict[str, tuple[str, ...]] = {"analytics.events": COLUMNS, duplicates.IDS: duplicates.ID_COLUMNS,
                                      receipts.TABLE: receipts.COLUMNS, DROPS: DROP_COLUMNS,
                                      breakdown.TABLE: breakdown.COLUMNS}


class Overloaded(Exception):
    """The spool is full or closing: the caller answers 503 with Retry-After instead of growing memory."""


def encode(rows: Sequence[tuple[str, list[Any]]], drops: Iterable[tuple[tuple[str, Reason], int]],
           day: str, drop_retention: Callable[[str], int]) -> tuple[bytes, int, dict[str, bytes]]:
    """One spool record: a `table<TAB>JSON row` line per row and per drop count; (payload, lines, the
    same rows as one JSONCompactEachRow block per table)."""
    by_table: dict[str, list[bytes]] = {}
    for table, row in rows:
        by_table.setdefault(table, []).append(orjson.dumps(row))
    drop_lines = [orjson.dumps([site, day, reason.value, n, drop_retention(site)]) for (site, reason), n in drops]
    if drop_lines:
        by_table[DROPS] = drop_lines
    payload = []
    for table, lines in by_table.items():  # one join per table, not a concatenation per row
        prefix = table.encode() + b"\t"
        payload.append(prefix + (b"\n" + prefix).join(lines) + b"\n")
    return b"".join(payload), sum(map(len, by_table.values())), {table: b"\n".join(lines)
                                                                for table, lines in by_table.items()}


def blocks(data: bytes) -> dict[str, bytes]:
    """A segment's rows read back from its records (a replay), as one block per table."""
    by_table: dict[str, list[bytes]] = {}
    for payload in records(data)[0]:
        for line in payload.splitlines():
            table, _, row = line.partition(b"\t")
            by_table.setdefault(table.decode(), []).append(row)
    return sum_drops({table: b"\n".join(lines) for table, lines in by_table.items()})


def sum_drops(tables: dict[str, bytes]) -> dict[str, bytes]:
    """The drop counts summed per (site, day, reason): one row per key, the same every time."""
    if DROPS not in tables:
        return tables
    drops: Counter[tuple[str, str, str, int]] = Counter()
    for line in tables[DROPS].splitlines():
        site, day, reason, n, retention = orjson.loads(line)
        drops[(site, day, reason, retention)] += n
    block = b"\n".join(orjson.dumps([s, d, r, n, ret]) for (s, d, r, ret), n in sorted(drops.items()))
    return {**tables, DROPS: block}


# Next to a quarantined segment: the tables that had accepted their block (`collector spool replay`
# never inserts those again; the store's deduplication window covers recent inserts only).
STORED = ".stored"


def _set_aside(sidecar: Path, segment: Path, stored: list[str]) -> None:
    """Keep a quarantined segment's dedup decision and its stored tables next to it (quarantine.py)."""
    if sidecar.exists():
        sidecar.rename(segment.with_suffix(sidecar.suffix))
    tmp = segment.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(sorted(set(stored))))
        os.fsync(f.fileno())
    os.replace(tmp, segment.with_suffix(STORED))


def _sidecar(segment_path: Path) -> Path:
    """Where the dedup decision of a durable segment is kept until the segment is removed."""
    return segment_path.with_suffix(".dup")


class Writer:
    def __init__(self, store: Store, metrics: Metrics, spool: Spool, *, drop_retention: Callable[[str], int],
                 clock: Callable[[], float] = time.time, retry_max_s: float = 5.0) -> None:
        self._store = store
        self._metrics = metrics
        self._spool = spool
        self._drop_retention = drop_retention
        self._clock = clock
        self._retry_max_s = retry_max_s
        self._stop_by = float("inf")
        self._day_cache = (-1, "")  # monotonic deadline for giving up on a down store at shutdown
        self._thread = threading.Thread(target=self._run, name="collector-writer", daemon=True)
        self.before_flush: Callable[[], None] = lambda: None
        self._dedup = duplicates.Deduplicator(store, clock)
        metrics.gauge("collector_buffer_rows", lambda: spool.rows)
        metrics.gauge("collector_spool_bytes", lambda: spool.size_bytes)
        segments, rows = spool.recovered
        if segments:
            metrics.inc("collector_spool_replayed_rows_total", rows)
            log.info("spool replay", extra={"segments": segments, "rows": rows})

    def start(self) -> None:
        self._thread.start()

    @property
    def depth(self) -> int:
        return self._spool.rows

    def enqueue(self, rows: Sequence[tuple[str, list[Any]]],
                dropped: Iterable[tuple[tuple[str, Reason], int]] = (),
                loop: asyncio.AbstractEventLoop | None = None) -> Waiter:
        """Append (table, row) pairs and drop counts to the spool; the future (an asyncio one of `loop`
        if given) resolves once they are durable. Raise Overloaded when the spool has no room. Never
        blocks on disk or ClickHouse."""
        payload, lines, parts = encode(rows, dropped, self._day(), self._drop_retention)
        if not lines:
            done: Waiter = Future() if loop is None else loop.create_future()
            done.set_result(-1)
            return done
        try:
            return self._spool.append(payload, lines, loop, parts)
        except SpoolFull as exc:
            raise Overloaded(str(exc)) from None

    def _day(self) -> str:
        """Today (UTC) as YYYY-MM-DD, formatted once a day."""
        number = int(self._clock() // 86_400)
        if number != self._day_cache[0]:
            self._day_cache = (number, dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + number).isoformat())
        return self._day_cache[1]

    def submit(self, rows: Sequence[tuple[str, list[Any]]],
               dropped: Iterable[tuple[tuple[str, Reason], int]] = ()) -> None:
        """`enqueue` and wait until durable: for threads (the consent worker, tests), not the event loop."""
        try:
            self.enqueue(rows, dropped).result()
        except SpoolFull as exc:
            raise Overloaded(str(exc)) from None

    def flush(self, timeout_s: float = 30.0) -> None:
        """Seal what the spool holds now and wait until ClickHouse has it (admin reads, tests); first
        `before_flush` (the store owner of `serve --workers N`: every worker's spool too)."""
        self.before_flush()
        self.drain(timeout_s)

    def drain(self, timeout_s: float = 30.0) -> bool:
        """`flush`, telling whether everything sealed got stored before the timeout."""
        return self._spool.wait_removed(self._spool.seal(), timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Refuse new rows, insert what the spool holds, stop. If the store stays down past `timeout_s`,
        stop anyway: a durable spool keeps the rest for the next start, a memory one loses it."""
        self._stop_by = time.monotonic() + timeout_s
        self._spool.close()
        if self._thread.is_alive():
            self._thread.join()
        if self._spool.rows:
            log.error("writer stopped with rows not yet stored", extra={
                "rows": self._spool.rows, "kept_for_replay": self._spool.durable})

    def _run(self) -> None:
        try:
            log.info("dedup window rebuilt", extra={"keys": self._dedup.rebuild()})
        except Exception as exc:  # the store is down at startup: start with an empty window
            log.warning("dedup window not rebuilt", extra={"error": type(exc).__name__})
        while (segment := self._spool.oldest()) is not None:
            stored: list[str] = []
            outcome = self._insert_with_retry(segment, stored)
            if outcome == "stopped":
                return
            if outcome == "stored":
                crashpoints.reached("handed-over")
                self._spool.remove(segment)
                if segment.path is not None:
                    _sidecar(segment.path).unlink(missing_ok=True)
                continue
            self._metrics.inc("collector_spool_quarantined_rows_total", segment.rows)
            aside = self._spool.quarantine(segment)
            # Memory durability has no disk to set it aside on: the rows are gone, and the log says so.
            log.error("segment refused by the store because of its rows: quarantined", extra={
                "segment": segment.name, "rows": segment.rows, "error": outcome, "kept_for_replay": aside is not None})
            if aside is not None and segment.path is not None:
                _set_aside(_sidecar(segment.path), aside, stored)

    def _insert_with_retry(self, segment: Segment, stored: list[str]) -> str:
        """'stored'; 'stopped' (closing while the store still fails); or, once the store refused the
        segment BLOCK_REFUSALS times because of its rows, the error's name (quarantine it). `stored`
        collects the tables that accepted their block."""
        tables = sum_drops(segment.blocks) if segment.blocks is not None else blocks(segment.read())
        backoff, refused = 0.05, 0
        prepared: duplicates.Prepared | None = None
        while True:
            try:
                if prepared is None:  # decided once per segment (and read back on a replay)
                    prepared = self._dedup.prepare(tables, _sidecar(segment.path) if segment.path else None,
                                                   self._day(), self._drop_retention)
                    if prepared.duplicates:
                        self._metrics.inc("collector_events_dropped_total", sum(prepared.duplicates.values()),
                                          reason=Reason.DUPLICATE.value)
                        prepared.tables = sum_drops(prepared.tables)
                stored.clear()
                insert_segment(self._store, self._metrics, segment.name, prepared.tables, stored)
                self._dedup.stored(prepared)
                return "stored"
            except Exception as exc:  # keep the segment and retry it with its tokens, unless its rows are at fault
                error = refusals.label(exc)
                self._metrics.inc("collector_flush_errors_total")
                self._metrics.inc("collector_insert_failures_total", error=error)
                refused = refused + 1 if refusals.block_code(exc) is not None else 0
                if refused >= refusals.BLOCK_REFUSALS:
                    if prepared is not None and duplicates.EVENTS in stored:
                        self._dedup.stored(prepared)  # its events are in the store: a re-send is a duplicate
                    return error
                log.warning("insert failed, will retry", extra={"error": error, "rows": segment.rows,
                                                                 "retry_in_s": backoff})
            if time.monotonic() + backoff > self._stop_by:
                return "stopped"
            time.sleep(backoff)
            backoff = min(backoff * 2, self._retry_max_s)


def insert_segment(store: Store, metrics: Metrics, name: str, tables: dict[str, bytes],
                   stored: list[str] | None = None, skip: Iterable[str] = ()) -> None:
    """Insert a segment's blocks, table by table in TABLES order, each with the token `<name>-<table>`;
    `stored` collects the tables that accepted their block, `skip` names tables stored before."""
    done = set(skip)
    for table, columns in TABLES.items():
        block = tables.get(table)
        if block and table not in done:
            start = time.perf_counter()
            store.insert_rows(table, columns, block, f"{name}-{table}")
            metrics.observe("collector_insert_duration_seconds", time.perf_counter() - start,
                            table=table.split(".")[-1])
            metrics.inc("collector_rows_flushed_total", block.count(b"\n") + 1, table=table.split(".")[-1])
        if stored is not None and block:
            stored.append(table)
