"""Moving an embedded store up to a ClickHouse server: `collector move --to URL`.

The server gets the schema first (the same migrations, applied by `store.migrate`), then every stored table
in migration order, partition by partition. A partition travels in chunks into a staging copy of its table on
the server (database `analytics_move`, no dedup window, merges stopped) and, once the staging partition holds
exactly the source's rows, replaces the live partition with `ALTER TABLE … REPLACE PARTITION … FROM`:

- no materialised view fires: a partition operation is not an insert, so the rollups arrive as they were
  stored (their history outlives the raw events) and are never counted a second time from the raw rows;
- a rerun after an interruption cannot double anything: replacing a partition twice leaves one copy, and a
  partition recorded as moved (`analytics_meta.moved_partitions`) with the source's row count is skipped;
- a server that already holds rows the move did not put there is refused, since a replace would drop them.

At the end each table's rows are counted on both sides (FINAL where the engine folds rows, so background
merges on either side do not count as a difference). Stop the collector that owns the data directory first:
the store is opened here, exclusively, and its merges are stopped while the move reads its parts.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

import clickhouse_connect

from . import salt_table
from .salts import SALT_BYTES
from .store import Store, migrate, migration_files

STAGING = "analytics_move"
PROGRESS = "analytics_meta.moved_partitions"
PROGRESS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PROGRESS} (table String, partition_id String, rows UInt64, done UInt8, "
    "at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY (table, partition_id, at) "
    "COMMENT 'Partitions copied by collector move: a rerun skips the ones done'"
)
# Rows per read of the source and insert into the server: bounds the memory of a move, whatever the table size.
CHUNK_ROWS = 50_000
# Tables every collector rewrites at start (so a server a collector already started on holds rows there).
REWRITTEN_AT_START = frozenset({"site_privacy"})
_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS analytics\.(\w+)", re.IGNORECASE)


class MoveError(RuntimeError):
    """The move cannot start or did not verify; the message says what to do."""


def connect(url: str) -> Any:
    """A clickhouse-connect client for `http(s)://user:password@host:port/database[?proxy_path=/path]`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MoveError(f"--to must be http(s)://user:password@host:port/database, got scheme {parts.scheme!r}")
    options = dict(parse_qsl(parts.query))
    return clickhouse_connect.get_client(
        host=parts.hostname, port=parts.port or (8443 if parts.scheme == "https" else 8123),
        username=unquote(parts.username or "default"), password=unquote(parts.password or ""),
        secure=parts.scheme == "https", database=parts.path.strip("/") or "analytics",
        proxy_path=options.get("proxy_path", ""), send_receive_timeout=600,
    )


@dataclass
class Table:
    name: str
    engine: str
    partitions: list[tuple[str, int]]  # (partition id, rows), from the source's active parts

    @property
    def rows(self) -> int:
        return sum(rows for _, rows in self.partitions)


@dataclass
class Report:
    moved: list[tuple[str, str, int]] = field(default_factory=list)  # (table, partition, rows)
    skipped: list[tuple[str, str, int]] = field(default_factory=list)
    counts: list[tuple[str, int, int]] = field(default_factory=list)  # (table, source rows, server rows)
    salts_seeded: int = 0

    @property
    def verified(self) -> bool:
        return all(source == target for _, source, target in self.counts)


class Bar:
    """Progress on a text stream: a redrawn bar on a terminal, one line per partition otherwise."""

    def __init__(self, total_rows: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.done, self.stream = max(total_rows, 1), 0, stream
        self.tty = stream.isatty()

    def chunk(self, table: str, partition: str, rows: int) -> None:
        self.done += rows
        if self.tty:
            filled = 30 * self.done // self.total
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {100 * self.done // self.total:3d}% "
                              f"{table} {partition} {self.done:,}/{self.total:,} rows ")
            self.stream.flush()

    def partition(self, table: str, partition: str, rows: int, skipped: bool) -> None:
        if skipped:
            self.done += rows
        if not self.tty:
            verb = "already on the server" if skipped else "moved"
            self.stream.write(f"{table} {partition}: {rows:,} rows {verb} ({self.done:,}/{self.total:,})\n")
            self.stream.flush()

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")


def stored_tables(source: Store) -> list[Table]:
    """Every table of `analytics` that stores rows, in migration order (a table before the views over it)."""
    engines = dict(source.query("SELECT name, engine FROM system.tables WHERE database = 'analytics' "
                                "AND engine LIKE '%MergeTree'"))
    ordered = [m.group(1) for _, _, sql in migration_files() for m in _CREATE.finditer(sql)]
    names = [n for n in dict.fromkeys(ordered) if n in engines] + sorted(set(engines) - set(ordered))
    tables = []
    for name in names:
        parts = source.query("SELECT partition_id, sum(rows) FROM system.parts WHERE database = 'analytics' "
                             "AND table = {t:String} AND active GROUP BY partition_id ORDER BY partition_id",
                             {"t": name})
        tables.append(Table(name, engines[name], [(p, int(r)) for p, r in parts if r]))
    return tables


def _logical_rows(store: Store, tables: list[Table]) -> dict[str, int]:
    """Rows of each table as a reader sees them, in one statement: FINAL folds what a later merge would, so
    background merges on one side only are not a difference."""
    if not tables:
        return {}
    sql = " UNION ALL ".join(f"SELECT {_quote(t.name)}, count() FROM analytics.{t.name}"
                             + ("" if t.engine == "MergeTree" else " FINAL") for t in tables)
    return {name: int(rows) for name, rows in store.query(sql)}


def run(source: Store, target: Store, bar_for: Callable[[int], Bar] = Bar, chunk_rows: int = CHUNK_ROWS,
        salts_dir: Path | None = None) -> Report:
    """Copy every stored table of `source` (embedded) to `target` (a server) and count both sides."""
    migrate(source)
    migrate(target)
    tables = stored_tables(source)
    for table in tables:
        source.command(f"SYSTEM STOP MERGES analytics.{table.name}")  # parts stay put while they are read
    target.command(PROGRESS_DDL)
    done = _recorded(target)
    _refuse_foreign_rows(target, tables, done)
    target.command(f"CREATE DATABASE IF NOT EXISTS {STAGING}")
    report = Report()
    bar = bar_for(sum(t.rows for t in tables))
    for table in tables:
        staged = False
        for partition, rows in table.partitions:
            if done.get((table.name, partition)) == (rows, 1):
                report.skipped.append((table.name, partition, rows))
                bar.partition(table.name, partition, rows, skipped=True)
                continue
            staged = staged or _prepare_staging(target, table.name)
            # A partition recorded as started may have left rows in staging: those go first.
            _move_partition(source, target, table.name, partition, rows, chunk_rows, bar,
                            started=(table.name, partition) in done)
            report.moved.append((table.name, partition, rows))
            bar.partition(table.name, partition, rows, skipped=False)
        if table.name in REWRITTEN_AT_START:
            _drop_other_partitions(target, table)
    bar.end()
    target.command(f"DROP DATABASE IF EXISTS {STAGING}")
    for table in tables:
        source.command(f"SYSTEM START MERGES analytics.{table.name}")
    here, there = _logical_rows(source, tables), _logical_rows(target, tables)
    report.counts = [(t.name, here[t.name], there[t.name]) for t in tables]
    if salts_dir is not None:
        report.salts_seeded = seed_salts(target, salts_dir)
    return report


def _recorded(target: Store) -> dict[tuple[str, str], tuple[int, int]]:
    """(table, partition) -> (rows, done) of the latest record of each partition on the server."""
    rows = target.query("SELECT table, partition_id, argMax(rows, (at, done)), argMax(done, (at, done)) "
                        f"FROM {PROGRESS} GROUP BY table, partition_id")
    return {(t, p): (int(r), int(d)) for t, p, r, d in rows}


def _refuse_foreign_rows(target: Store, tables: list[Table], recorded: dict[tuple[str, str], Any]) -> None:
    names = {t.name for t in tables} - REWRITTEN_AT_START
    held = target.query("SELECT table, partition_id FROM system.parts WHERE database = 'analytics' AND active "
                        "AND rows > 0 GROUP BY table, partition_id ORDER BY table, partition_id")
    foreign = [(t, p) for t, p in held if t in names and (t, p) not in recorded]
    if foreign:
        table, partition = foreign[0]
        raise MoveError(f"the server's analytics.{table} already holds rows this move did not copy (partition "
                        f"{partition}): move into a server no collector has written to yet")


def _drop_other_partitions(target: Store, table: Table) -> None:
    """A table a collector rewrites at start ends as the store had it: what a collector already wrote there
    goes (it writes it again at its next start)."""
    mine = {p for p, _ in table.partitions}
    held = target.query("SELECT DISTINCT partition_id FROM system.parts WHERE database = 'analytics' "
                        "AND table = {t:String} AND active", {"t": table.name})
    for (partition,) in held:
        if partition not in mine:
            target.command(f"ALTER TABLE analytics.{table.name} DROP PARTITION ID {_quote(partition)}")


def _prepare_staging(target: Store, name: str) -> bool:
    """A copy of the table to stage partitions in (its staged rows are dropped with the database at the end)."""
    staged = f"{STAGING}.{name}"
    target.command(f"CREATE TABLE IF NOT EXISTS {staged} AS analytics.{name}")
    # Identical chunks are legitimate here, and a redone partition resends blocks the log may remember.
    target.command(f"ALTER TABLE {staged} MODIFY SETTING non_replicated_deduplication_window = 0")
    target.command(f"SYSTEM STOP MERGES {staged}")  # its row count is compared with the source's, unfolded
    return True


def _move_partition(source: Store, target: Store, name: str, partition: str, rows: int, chunk_rows: int,
                    bar: Bar, started: bool) -> None:
    """Stage the source partition on the server, check its rows, and replace the live partition with it.
    The start is recorded before any row is staged, so a partition with no record has nothing in staging."""
    staged = f"{STAGING}.{name}"
    target.command(f"INSERT INTO {PROGRESS} (table, partition_id, rows, done) VALUES "
                   f"({_quote(name)}, {_quote(partition)}, {rows}, 0)")
    if started:
        target.command(f"ALTER TABLE {staged} DROP PARTITION ID {_quote(partition)}")
    columns = [c for (c,) in source.query("SELECT name FROM system.columns WHERE database = 'analytics' "
                                          "AND table = {t:String} AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') "
                                          "ORDER BY position", {"t": name})]
    select = ", ".join(f"`{c}`" for c in columns)
    parts = source.query("SELECT name, rows FROM system.parts WHERE database = 'analytics' AND table = {t:String} "
                         "AND partition_id = {p:String} AND active ORDER BY name", {"t": name, "p": partition})
    for part, part_rows in parts:
        for start in range(0, int(part_rows), chunk_rows):
            with source.lock:
                block = source.client.raw_query(
                    f"SELECT {select} FROM analytics.{name} WHERE _part = {{part:String}} "
                    f"AND _part_offset >= {start} AND _part_offset < {start + chunk_rows} FORMAT Native",
                    parameters={"part": part})
            with target.lock:
                target.client.raw_insert(staged, columns, block, fmt="Native", settings={"optimize_on_insert": 0})
            bar.chunk(name, partition, min(chunk_rows, int(part_rows) - start))
    staged_rows = int(target.query(f"SELECT count() FROM {staged} WHERE _partition_id = {{p:String}}",
                                   {"p": partition})[0][0])
    if staged_rows != rows:
        raise MoveError(f"analytics.{name} partition {partition}: {staged_rows} rows reached the server, the store "
                        f"holds {rows}; run the move again (a partition is replaced whole, never added twice)")
    target.command(f"ALTER TABLE analytics.{name} REPLACE PARTITION ID {_quote(partition)} FROM {staged}")
    target.command(f"INSERT INTO {PROGRESS} (table, partition_id, rows, done) VALUES "
                   f"({_quote(name)}, {_quote(partition)}, {rows}, 1)")


def _quote(value: str) -> str:
    """A literal for names and partition ids read from system tables (never from a request)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def seed_salts(target: Store, salts_dir: Path) -> int:
    """Give the server today's and yesterday's salts of the embedded store, for any day it has none of yet:
    an anonymous visitor keeps one daily hash across the switch instead of counting twice that day."""
    salt_table.TableKeeper(target)
    seeded = 0
    for path in sorted(salts_dir.glob("*.salt")):
        salt = path.read_bytes()
        try:
            day = dt.date.fromisoformat(path.stem)
        except ValueError:
            continue
        if len(salt) != SALT_BYTES:
            continue
        held = target.query(f"SELECT count() FROM {salt_table.TABLE} WHERE day = {{d:Date}}", {"d": day})[0][0]
        if not held:
            with target.lock:
                target.client.insert(salt_table.TABLE, [[day, salt]], column_names=["day", "salt"])
            seeded += 1
    return seeded
