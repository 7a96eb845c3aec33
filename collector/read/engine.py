"""The engine behind the SQL door: handles of their own on the embedded chDB engine, so a dashboard query never
waits on (or holds) the writer's lock, with bounded concurrency.

chDB hosts one engine per process and lets any number of connection handles share it; each handle runs one
query at a time, and a query releases the GIL while the engine works (measured: a 10 s scan on one handle
beside an insert on another took the insert 11 ms, and the event loop never paused more than 17 ms). Readers
share a small pool; the admin has a handle of its own, because an admin's `SET` or `USE` would otherwise
outlive the request on a shared handle. Every call blocks: the door runs it in a worker thread.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import chdb

from .errors import SqlError, from_engine

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Result:
    body: bytes
    read_rows: int = 0
    read_bytes: int = 0
    written_rows: int = 0
    written_bytes: int = 0
    elapsed_ns: int = 0

    def summary(self) -> dict[str, str]:
        """ClickHouse's X-ClickHouse-Summary (every value a string, as the server writes them)."""
        return {"read_rows": str(self.read_rows), "read_bytes": str(self.read_bytes),
                "written_rows": str(self.written_rows), "written_bytes": str(self.written_bytes),
                "total_rows_to_read": str(self.read_rows), "result_rows": "0", "result_bytes": str(len(self.body)),
                "elapsed_ns": str(self.elapsed_ns), "memory_usage": "0"}


class _Handle:
    __slots__ = ("conn", "database")

    def __init__(self, path: str) -> None:
        self.conn = chdb.connect(path)
        self.database = ""

    def run(self, sql: str, fmt: str, params: Mapping[str, str], database: str) -> Result:
        if database != self.database:
            if not _IDENTIFIER.match(database):
                raise SqlError(81, f"Database {database[:64]} does not exist")
            self._query(f"USE `{database}`", "TSV", {})
            self.database = database
        started = time.perf_counter_ns()
        result = self._query(sql, fmt, params)
        return Result(result.bytes(), result.rows_read(), result.bytes_read(), result.rows_written(),
                      result.bytes_written(), time.perf_counter_ns() - started)

    def _query(self, sql: str, fmt: str, params: Mapping[str, str]) -> Any:
        try:
            return self.conn.query(sql, fmt, params=dict(params))
        except Exception as exc:  # chDB raises RuntimeError with the engine's message
            raise from_engine(str(exc)) from None

    def close(self) -> None:
        self.conn.close()


class Engine:
    """`readers` handles for the non-admin roles and one for the admin, on the store's embedded engine."""

    def __init__(self, path: str, readers: int) -> None:
        self.readers = readers
        self._pool: queue.Queue[_Handle] = queue.Queue()
        for _ in range(readers):
            self._pool.put(_Handle(path))
        self._admin = _Handle(path)
        self._admin_lock = threading.Lock()

    def run(self, sql: str, fmt: str, params: Mapping[str, str], database: str, admin: bool) -> Result:
        """Run one statement; its output in `fmt` unless the statement has its own FORMAT clause."""
        if admin:
            with self._admin_lock:
                return self._admin.run(sql, fmt, params, database)
        handle = self._pool.get()
        try:
            return handle.run(sql, fmt, params, database)
        finally:
            self._pool.put(handle)

    def close(self) -> None:
        with self._admin_lock:
            self._admin.close()
        for _ in range(self.readers):
            self._pool.get().close()
