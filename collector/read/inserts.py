"""Admin statements with rows in the request body: `INSERT INTO t (cols) FORMAT Native` followed by Native
blocks (what clickhouse-connect sends), RowBinary, JSONEachRow... The statement ends at the line break after its
FORMAT clause; the engine takes the rows (`SqlEngine.insert`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .engine import Result, SqlEngine

_INSERT_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*$", re.IGNORECASE)
# An INSERT statement followed by its rows: the statement ends at the line break after `FORMAT <name>`.
_INSERT_HEAD = re.compile(rb"^\s*INSERT\b[^\n]*?\bFORMAT\s+\w+[ \t]*\r?\n", re.IGNORECASE)


def split_insert(body: bytes) -> tuple[str, bytes] | None:
    """(statement, rows) when `body` is an INSERT with its rows after the FORMAT clause, else None."""
    match = _INSERT_HEAD.match(body)
    if match is None or _INSERT_FORMAT.search(match.group(0).decode("utf-8", "replace").rstrip()) is None:
        return None
    return match.group(0).decode("utf-8", "surrogateescape").rstrip(), body[match.end():]


def run_admin(engine: SqlEngine, sql: str, data: bytes | None, bound: Mapping[str, str],
              settings: Mapping[str, str], database: str, default_format: str) -> Result:
    """Run an admin statement (with `data` as the rows of an INSERT when the body carries them)."""
    if data is None:
        return engine.run(sql, default_format, bound, database, admin=True, settings=settings)
    return engine.insert(sql, data, database, settings)
