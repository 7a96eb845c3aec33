"""The migrations rendered for a ClickHouse cluster: `collector migrate --cluster NAME`.

One source renders every deployment. Without a cluster a migration is its file, unchanged: what the embedded
store and a single server run (`store.migrate` goes through `render` too). With a cluster every statement
is DDL `ON CLUSTER 'NAME'`, and each stored table becomes two:

- `analytics.X_local` on every host, the file's table with a `Replicated…MergeTree` engine whose Keeper path
  holds the `{shard}` macro and whose replica name is `{replica}` (both from each host's `<macros>`);
- `analytics.X`, a `Distributed` table over the locals: readers and writers keep using the names they use on
  one server, and the read views (plain views) read the whole cluster through them.

Materialised views read and write the local tables, so a row inserted on a shard feeds that shard's rollups.

Sharding key: `intHash64(visitor_id)` for tables that hold one (raw events, the visits the sessioniser
inserts): a visitor's events, visits and sketch contributions stay on one shard, so its visits are whole
there and a retried block is split the same way again (dedup state is per shard). Tables without a
visitor (collector-written counters, markers, per-site settings) shard by `cityHash64(site)`: deterministic
too, and a site's ReplacingMergeTree rows meet on one shard, where FINAL folds them.
"""

from __future__ import annotations

import re

ZOO_PATH = "/clickhouse/tables/{{shard}}/{database}/{table}"
# Tables no collector shards: the record of migrations, and the daily salts every collector must share;
# one copy on every host of the cluster ({shard}-{replica} names each copy).
EVERYWHERE_PATH = "/clickhouse/tables/all/{database}/{table}"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATABASE = re.compile(r"^(\s*CREATE DATABASE IF NOT EXISTS \w+)", re.MULTILINE)
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)\.(\w+)")
_ENGINE = re.compile(r"^ENGINE = (\w*MergeTree|Null)(?:\((.*)\))?\s*$", re.MULTILINE)
_VIEW = re.compile(r"CREATE (MATERIALIZED VIEW|VIEW) IF NOT EXISTS (\w+)\.(\w+)")
_MV_TARGET = re.compile(r"\bTO (\w+)\.(\w+) AS\b")
_ALTER = re.compile(r"ALTER TABLE (\w+)\.(\w+) ")


def check_name(cluster: str) -> str:
    if not _NAME.match(cluster):
        raise ValueError(f"cluster name {cluster!r}: letters, digits and underscores only")
    return cluster


def render(sql: str, cluster: str | None, stored: frozenset[str] = frozenset()) -> list[str]:
    """The statements that apply one migration file. `stored`: the names of the tables made local by earlier
    files (their readers and writers in views are pointed at the locals)."""
    if cluster is None:
        return [sql]
    on = f" ON CLUSTER '{check_name(cluster)}'"
    if _DATABASE.search(sql):
        return [_DATABASE.sub(lambda m: m.group(1) + on, sql, count=1)]
    table = _TABLE.search(sql)
    if table:
        return _table(sql, on, cluster, table.group(1), table.group(2))
    view = _VIEW.search(sql)
    if view:
        head = f"CREATE {view.group(1)} IF NOT EXISTS {view.group(2)}.{view.group(3)}{on}"
        body = sql[:view.start()] + head + sql[view.end():]
        return [_to_locals(body, stored) if view.group(1) == "MATERIALIZED VIEW" else body]
    alter = _ALTER.search(sql)
    if alter:
        database, name = alter.groups()
        tail = sql[alter.end():]
        return [f"{sql[:alter.start()]}ALTER TABLE {database}.{name}_local{on} {tail}",
                f"ALTER TABLE {database}.{name}{on} {tail}"]
    return [sql]  # a backfill INSERT … SELECT: through the Distributed tables, from one host


def _table(sql: str, on: str, cluster: str, database: str, name: str) -> list[str]:
    engine = _ENGINE.search(sql)
    if engine is None:
        raise ValueError(f"{database}.{name}: no engine line this renderer knows")
    kind, args = engine.group(1), engine.group(2)
    local = f"{name}_local"
    if kind == "Null":
        replicated = "ENGINE = Null"
    else:
        path = ZOO_PATH.format(database=database, table=local)
        replicated = f"ENGINE = Replicated{kind}('{path}', '{{replica}}'{', ' + args if args else ''})"
    head = f"CREATE TABLE IF NOT EXISTS {database}.{local}{on}"
    body = sql[:engine.start()] + replicated + sql[engine.end():]
    local_sql = _TABLE.sub(head, body, count=1)
    key = "intHash64(visitor_id)" if re.search(r"^\s+visitor_id UInt64", sql, re.MULTILINE) else "cityHash64(site)"
    distributed = (f"CREATE TABLE IF NOT EXISTS {database}.{name}{on} AS {database}.{local} "
                   f"ENGINE = Distributed('{cluster}', '{database}', '{local}', {key})")
    return [local_sql, distributed]


def _to_locals(sql: str, stored: frozenset[str]) -> str:
    """A materialised view reads the local source and writes the local target (same shard, no network)."""
    sql = _MV_TARGET.sub(lambda m: f"TO {m.group(1)}.{m.group(2)}_local AS", sql, count=1)
    for name in stored:
        sql = re.sub(rf"\bFROM analytics\.{name}\b", f"FROM analytics.{name}_local", sql)
    return sql


def stored_tables(sql: str) -> set[str]:
    """The tables a migration file creates with storage (or a Null engine): they get a local twin."""
    table = _TABLE.search(sql)
    return {table.group(2)} if table and _ENGINE.search(sql) else set()


def everywhere(ddl: str, cluster: str | None) -> str:
    """A MergeTree DDL of analytics_meta (migrations record, daily salts) replicated to every host, or as is."""
    if cluster is None:
        return ddl
    table = re.search(r"CREATE TABLE IF NOT EXISTS (\w+)\.(\w+)", ddl)
    assert table, ddl
    path = EVERYWHERE_PATH.format(database=table.group(1), table=table.group(2))
    ddl = ddl.replace(table.group(0), f"{table.group(0)} ON CLUSTER '{check_name(cluster)}'", 1)
    return ddl.replace("ENGINE = MergeTree", f"ENGINE = ReplicatedMergeTree('{path}', '{{shard}}-{{replica}}')", 1)


def plan(files: list[tuple[int, str, str]], cluster: str | None) -> list[tuple[str, list[str]]]:
    """(migration name, statements) for every file, in order."""
    stored: set[str] = set()
    out = []
    for _, name, sql in files:
        out.append((name, render(sql, cluster, frozenset(stored))))
        stored |= stored_tables(sql)
    return out
