"""The spool: an append-only log of pipeline output between the request and ClickHouse.

Durable mode (a directory): each request's rows are one CRC-framed record; one thread appends every
record waiting, fsyncs once (group commit) and only then resolves the callers' futures, so a 202 means
the rows are on disk. A caller on an event loop gets an asyncio future, and every such future of one
group commit is resolved by a single callback in its loop (one wake-up per commit, not per request).
Records go to the open segment file until it holds `seal_rows` rows or is `seal_interval_s` old;
then it is sealed and never written again. The writer inserts sealed segments, oldest first, and
removes each once ClickHouse has accepted it. At start-up every segment found is sealed (a torn last
record, never acknowledged, is cut off) and inserted again: its name is its deduplication token, so a
segment inserted before a crash is not stored twice. The file format is in segments.py.

Memory mode (no directory): the same segments, held in RAM and acknowledged at once; what is not yet
inserted is lost if the process dies.

The spool holds only pipeline output: rows as the tables store them, never an IP or user agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import TypeAlias

from .segments import SUFFIX, OpenSegment, Segment, frame, fsync_dir, recover

log = logging.getLogger("collector.spool")
QUARANTINE = "quarantine"  # the subdirectory of a spool holding the segments the store refused


class SpoolFull(Exception):
    """No room for more rows (size cap, too many waiting, or closing): answer 503, never a false 202."""


# A caller's handle: a thread's concurrent future, or an asyncio future of the loop that appended.
Waiter: TypeAlias = "Future[int] | asyncio.Future[int]"


class Spool:
    def __init__(self, directory: Path | None, *, max_bytes: int, max_rows: int, seal_rows: int,
                 seal_interval_s: float, max_waiting: int = 10_000) -> None:
        self._dir = directory
        self._max_bytes, self._max_rows, self._max_waiting = max_bytes, max_rows, max_waiting
        self._seal_rows, self._seal_interval_s = seal_rows, seal_interval_s
        # One lock, two conditions: `_cond` for sealed segments and removals (the writer, flushes),
        # `_work` for the spool thread; a request wakes the spool thread only when it has to.
        lock = threading.RLock()
        self._cond = threading.Condition(lock)
        self._work = threading.Condition(lock)
        # (record, rows, waiter, per-table blocks); an empty record asks for a seal
        self._waiting: list[tuple[bytes, int, Waiter, Mapping[str, bytes] | None]] = []
        self._sealed: deque[Segment] = deque()
        self._open: OpenSegment | None = None
        self._bytes = self._rows = 0
        self._epoch = secrets.token_hex(6)
        self._next_seq = 0
        self._closing = False
        self.recovered: tuple[int, int] = (0, 0)  # (segments, rows) found at start-up
        self.commits = 0  # group commits (fsyncs) so far
        self._thread = threading.Thread(target=self._run, name="collector-spool", daemon=True)
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._recover(directory)
        self._thread.start()  # group commits (durable) and sealing by age (both modes)

    @property
    def durable(self) -> bool:
        return self._dir is not None

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def append(self, payload: bytes, rows: int, loop: asyncio.AbstractEventLoop | None = None,
               parts: Mapping[str, bytes] | None = None) -> Waiter:
        """Queue one record; the future resolves once it is durable (at once in memory mode). With
        `loop` (the caller's running loop) it is an asyncio future of that loop. `parts`, the same rows
        as one block per table, lets the writer insert the segment without parsing it."""
        record = frame(payload)
        with self._cond:
            if self._closing:
                raise SpoolFull("closing")
            if (self._bytes + len(record) > self._max_bytes or self._rows + rows > self._max_rows
                    or len(self._waiting) >= self._max_waiting):
                raise SpoolFull("full")
            self._bytes += len(record)
            self._rows += rows
            future: Waiter = Future() if loop is None else loop.create_future()
            if self._dir is None:
                if self._open is None:
                    self._work.notify()  # a new open segment: the thread seals it when it is due
                self._write_memory(record, rows, parts)
                future.set_result(-1)
            else:
                self._waiting.append((record, rows, future, parts))
                if len(self._waiting) == 1:
                    self._work.notify()  # the first record of the next group commit
            return future

    def seal(self) -> int:
        """Seal the open segment after everything queued before; the seq of the newest sealed segment."""
        with self._cond:
            if self._dir is None or not self._thread.is_alive():
                self._seal_locked()
                return self._next_seq - 1
            future: Future[int] = Future()
            self._waiting.append((b"", 0, future, None))
            self._work.notify()
        return future.result(timeout=60)

    def oldest(self, timeout_s: float | None = None) -> Segment | None:
        """The oldest sealed segment, waiting up to `timeout_s` for one; None if there is none."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while not self._sealed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if (self._closing and self._open is None and not self._waiting) or (
                        remaining is not None and remaining <= 0):
                    return None
                self._cond.wait(remaining)
            return self._sealed[0]

    def remove(self, segment: Segment) -> None:
        """ClickHouse accepted `segment`: forget it (the oldest)."""
        if segment.path is not None:
            segment.path.unlink(missing_ok=True)
        with self._cond:
            assert self._sealed and self._sealed[0] is segment
            self._sealed.popleft()
            self._bytes -= segment.size
            self._rows -= segment.rows
            self._cond.notify_all()

    def quarantine(self, segment: Segment) -> Path | None:
        """ClickHouse refuses `segment` because of its rows: keep it aside (spool/quarantine/) for an
        operator instead of blocking every later segment behind it; where it went (None in memory mode,
        where nothing can be kept)."""
        aside = None
        if segment.path is not None:
            directory = segment.path.parent / QUARANTINE
            directory.mkdir(exist_ok=True)
            aside = directory / segment.path.name
            segment.path.rename(aside)
            fsync_dir(directory)
        self.remove(segment)
        return aside

    def wait_removed(self, seq: int, timeout_s: float) -> bool:
        """Wait until every segment up to `seq` has been removed; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._sealed and self._sealed[0].seq <= seq:
                if time.monotonic() >= deadline:
                    return False
                self._cond.wait(0.05)
            return True

    def close(self) -> None:
        """Refuse new records, commit what is waiting and seal the open segment."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            self._work.notify()
        if self._thread.is_alive():
            self._thread.join()
        with self._cond:
            self._seal_locked()
            self._cond.notify_all()

    # -- the group-commit thread (durable mode) --

    def _run(self) -> None:
        while True:
            try:
                if self._step():
                    return
            except Exception:  # a bug must not silence the spool: log it, keep committing
                log.exception("spool thread error")
                time.sleep(0.1)

    def _step(self) -> bool:
        """One group commit (and seal); True once closing and nothing is left."""
        with self._cond:
            while not self._waiting and not self._closing and not self._seal_due():
                self._work.wait(self._wait_s())
            batch, self._waiting = self._waiting, []
            closing = self._closing
        outcomes = self._commit(batch)
        with self._cond:
            if self._seal_due() or any(not record for record, _, _, _ in batch):
                self._seal_locked()
                self._cond.notify_all()
            outcomes += [(future, self._next_seq - 1) for record, _, future, _ in batch if not record]
        _settle(outcomes)
        return closing and not batch

    def _commit(self, batch: list[tuple[bytes, int, Waiter, Mapping[str, bytes] | None]]
                ) -> list[tuple[Waiter, int | BaseException]]:
        """Write every waiting record with one write and one fsync; the outcome for each record's waiter."""
        data = b"".join(record for record, _, _, _ in batch)
        if not data:
            return []
        segment = self._open or self._new_segment()
        assert segment.file is not None
        try:
            segment.file.write(data)
            segment.file.flush()
            os.fdatasync(segment.file.fileno())
            self.commits += 1
        except OSError as exc:
            log.error("spool write failed", extra={"error": type(exc).__name__, "records": len(batch)})
            return self._undo(segment, batch)
        with self._cond:
            segment.size += len(data)
            segment.rows += sum(rows for _, rows, _, _ in batch)
            for record, _, _, parts in batch:
                if record:
                    segment.add_parts(parts)
        return [(future, segment.seq) for record, _, future, _ in batch if record]

    def _undo(self, segment: OpenSegment, batch: list[tuple[bytes, int, Waiter, Mapping[str, bytes] | None]]
              ) -> list[tuple[Waiter, int | BaseException]]:
        assert segment.file is not None
        try:
            segment.file.truncate(segment.size)
            segment.file.seek(segment.size)
        except OSError:
            pass
        with self._cond:
            for record, rows, _, _ in batch:
                if record:
                    self._bytes -= len(record)
                    self._rows -= rows
        return [(future, SpoolFull("spool write failed")) for record, _, future, _ in batch if record]

    def _new_segment(self) -> OpenSegment:
        assert self._dir is not None
        with self._cond:
            seq = self._next_seq
            self._next_seq += 1
        name = f"{seq:016d}-{self._epoch}"
        file = open(self._dir / (name + SUFFIX), "ab", buffering=0)  # noqa: SIM115 (closed on seal)
        fsync_dir(self._dir)
        self._open = OpenSegment(seq, name, time.monotonic(), file=file)
        return self._open

    # -- shared helpers (hold self._cond) --

    def _write_memory(self, record: bytes, rows: int, parts: Mapping[str, bytes] | None) -> None:
        if self._open is None:
            self._open = OpenSegment(self._next_seq, f"{self._next_seq:016d}-{self._epoch}", time.monotonic())
            self._next_seq += 1
        self._open.chunks.append(record)
        self._open.add_parts(parts)
        self._open.rows += rows
        self._open.size += len(record)
        if self._open.rows >= self._seal_rows:
            self._seal_locked()

    def _seal_due(self) -> bool:
        o = self._open
        return o is not None and o.rows > 0 and (
            o.rows >= self._seal_rows or time.monotonic() - o.opened_at >= self._seal_interval_s)

    def _wait_s(self) -> float | None:
        return None if self._open is None else max(0.001, self._open.opened_at + self._seal_interval_s
                                                   - time.monotonic())

    def _seal_locked(self) -> None:
        o, self._open = self._open, None
        if o is None:
            return
        path = None
        if o.file is not None:
            o.file.close()
            path = Path(o.file.name)
            if o.rows == 0:
                path.unlink(missing_ok=True)
                return
        if o.rows:
            blocks = None if o.parts is None else {table: b"\n".join(chunks) for table, chunks in o.parts.items()}
            self._sealed.append(Segment(o.seq, o.name, o.rows, o.size, path, b"".join(o.chunks), blocks))
            self._cond.notify_all()

    def _recover(self, directory: Path) -> None:
        """Seal every segment left by an earlier process (a torn last record is cut off)."""
        for segment in recover(directory):
            self._sealed.append(segment)
            self._bytes += segment.size
            self._rows += segment.rows
            self._next_seq = segment.seq + 1
        self.recovered = (len(self._sealed), self._rows)


def _settle(outcomes: list[tuple[Waiter, int | BaseException]]) -> None:
    """Resolve or fail the callers' waiters from the spool thread: concurrent futures here, asyncio ones
    in one callback per loop. A waiter whose caller gave up (a cancelled request) is skipped."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Waiter, int | BaseException]]] = {}
    for future, outcome in outcomes:
        if isinstance(future, asyncio.Future):
            by_loop.setdefault(future.get_loop(), []).append((future, outcome))
        else:
            _set(future, outcome)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_here, items)


def _settle_here(outcomes: list[tuple[Waiter, int | BaseException]]) -> None:
    for future, outcome in outcomes:
        _set(future, outcome)


def _set(future: Waiter, outcome: int | BaseException) -> None:
    with contextlib.suppress(InvalidStateError, asyncio.InvalidStateError):  # cancelled meanwhile
        if not future.done():
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
