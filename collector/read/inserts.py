"""Admin statements through the SQL door: settings applied for one statement, and inserts whose rows arrive
in the request body (`INSERT INTO t (cols) FORMAT Native` with Native blocks, as clickhouse-connect sends
them, or RowBinary, JSONEachRow...). chDB takes no data stream with a query, so the rows are written to a
private temporary file and read with `INSERT ... FROM INFILE`, as clickhouse-connect's own chDB backend does."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping

from .engine import Engine, Result
from .errors import SqlError

_SETTING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INSERT_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*$", re.IGNORECASE)
# An INSERT statement followed by its rows: the statement ends at the line break after `FORMAT <name>`.
_INSERT_HEAD = re.compile(rb"^\s*INSERT\b[^\n]*?\bFORMAT\s+\w+[ \t]*\r?\n", re.IGNORECASE)


def split_insert(body: bytes) -> tuple[str, bytes] | None:
    """(statement, rows) when `body` is an INSERT with its rows after the FORMAT clause, else None."""
    match = _INSERT_HEAD.match(body)
    if match is None or _INSERT_FORMAT.search(match.group(0).decode("utf-8", "replace").rstrip()) is None:
        return None
    return match.group(0).decode("utf-8", "surrogateescape").rstrip(), body[match.end():]


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _set(engine: Engine, settings: Mapping[str, str], database: str) -> dict[str, str]:
    """Apply `settings` on the admin handle; the values they replace, to restore afterwards."""
    if not settings:
        return {}
    bad = [k for k in settings if not _SETTING.match(k)]
    if bad:
        raise SqlError(115, f"Unknown setting {bad[0][:64]}")
    names = ", ".join(_quote(k) for k in settings)
    rows = engine.run(f"SELECT name, value FROM system.settings WHERE name IN ({names})", "TSVRaw", {}, database,
                      admin=True).body.decode().splitlines()
    previous = dict(line.split("\t", 1) for line in rows if "\t" in line)
    for name, value in settings.items():
        if name not in previous:
            raise SqlError(115, f"Unknown setting {name[:64]}")
        engine.run(f"SET {name} = {_quote(value)}", "TSV", {}, database, admin=True)
    return previous


def run_admin(engine: Engine, sql: str, data: bytes | None, bound: Mapping[str, str], settings: Mapping[str, str],
              database: str, default_format: str) -> Result:
    """Run an admin statement (with `data` as the rows of an INSERT when the body carries them)."""
    previous = _set(engine, settings, database)
    try:
        if data is None:
            return engine.run(sql, default_format, bound, database, admin=True)
        match = _INSERT_FORMAT.search(sql.rstrip())
        if not match:
            raise SqlError(62, "Syntax error: an INSERT with rows in the body needs a FORMAT clause")
        fd, path = tempfile.mkstemp(prefix="collector-insert-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            statement = f"{sql.rstrip()[:match.start()]} FROM INFILE {_quote(path)} FORMAT {match.group(1)}"
            return engine.run(statement, default_format, bound, database, admin=True)
        finally:
            os.unlink(path)
    finally:
        for name, value in previous.items():
            engine.run(f"SET {name} = {_quote(value)}", "TSV", {}, database, admin=True)
