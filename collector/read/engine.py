"""The engine behind the SQL door: handles of their own on the embedded chDB engine, so a dashboard query never
waits on (or holds) the writer's lock, with bounded concurrency.

chDB hosts one engine per process and lets any number of connection handles share it; each handle runs one
query at a time, and a query releases the GIL while the engine works (measured: a 10 s scan on one handle
beside an insert on another took the insert 11 ms, and the event loop never paused more than 17 ms). Readers
share a small pool; the admin has a handle of its own, because an admin's `SET` or `USE` would otherwise
outlive the request on a shared handle. Every call blocks: the door runs it in a worker thread.
"""

from __future__ import annotations

import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import SqlError, from_engine

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INSERT_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*$", re.IGNORECASE)


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


class SqlEngine(Protocol):
    """What the door needs from an engine: the embedded one (`Engine`) or a ClickHouse server (server.py)."""

    readers: int

    def run(self, sql: str, fmt: str, params: Mapping[str, str], database: str, admin: bool,
            settings: Mapping[str, str] | None = None) -> Result: ...

    def insert(self, sql: str, data: bytes, database: str, settings: Mapping[str, str] | None = None) -> Result: ...

    def close(self) -> None: ...


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Handle:
    __slots__ = ("conn", "database")

    def __init__(self, path: str) -> None:
        import chdb  # here, not at import: a server-mode process never loads the engine (see bench/rss_modes.py)

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

    def run(self, sql: str, fmt: str, params: Mapping[str, str], database: str, admin: bool,
            settings: Mapping[str, str] | None = None) -> Result:
        """Run one statement; its output in `fmt` unless the statement has its own FORMAT clause. `settings`
        (admin only; non-admin settings ride in the guarded statement) hold for this statement alone."""
        if admin:
            with self._admin_lock:
                previous = self._set(settings or {}, database)
                try:
                    return self._admin.run(sql, fmt, params, database)
                finally:
                    self._set(previous, database)
        handle = self._pool.get()
        try:
            return handle.run(sql, fmt, params, database)
        finally:
            self._pool.put(handle)

    def insert(self, sql: str, data: bytes, database: str, settings: Mapping[str, str] | None = None) -> Result:
        """An admin INSERT ... FORMAT X whose rows are `data`: chDB takes no data stream with a query, so the
        rows go through a private temporary file and `FROM INFILE`, as clickhouse-connect's chDB backend does."""
        match = _INSERT_FORMAT.search(sql.rstrip())
        if not match:
            raise SqlError(62, "Syntax error: an INSERT with rows in the body needs a FORMAT clause")
        fd, path = tempfile.mkstemp(prefix="collector-insert-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            statement = f"{sql.rstrip()[:match.start()]} FROM INFILE {_quote(path)} FORMAT {match.group(1)}"
            return self.run(statement, "TabSeparated", {}, database, admin=True, settings=settings)
        finally:
            os.unlink(path)

    def _set(self, settings: Mapping[str, str], database: str) -> dict[str, str]:
        """Apply `settings` on the admin handle (lock held); the values they replace."""
        if not settings:
            return {}
        bad = [k for k in settings if not _IDENTIFIER.match(k)]
        if bad:
            raise SqlError(115, f"Unknown setting {bad[0][:64]}")
        names = ", ".join(_quote(k) for k in settings)
        rows = self._admin.run(f"SELECT name, value FROM system.settings WHERE name IN ({names})", "TSVRaw", {},
                               database).body.decode().splitlines()
        previous = dict(line.split("\t", 1) for line in rows if "\t" in line)
        for name, value in settings.items():
            if name not in previous:
                raise SqlError(115, f"Unknown setting {name[:64]}")
            self._admin.run(f"SET {name} = {_quote(value)}", "TSV", {}, database)
        return previous

    def close(self) -> None:
        with self._admin_lock:
            self._admin.close()
        for _ in range(self.readers):
            self._pool.get().close()
