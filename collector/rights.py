"""Data-subject rights on the store: export and delete everything held under one pseudonymous visitor id,
and purge a whole site. Deletion is a real ALTER ... DELETE mutation that rewrites the affected parts
(not a lightweight delete that only hides rows); each report proves it from the engine itself:
the mutation is done (system.mutations), no active part predates it (system.parts), and a re-query
finds 0 rows.

Every function here is synchronous and holds one store connection (embedded: the store lock) for its whole
run: call it off the event loop.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from typing import Any

from . import breakdown, receipts
from .pipeline import Context
from .pseudonyms import visitor_id as visitor_id  # the public id function, shared with the pipeline
from .store import Store

log = logging.getLogger("collector.rights")
# Tables that hold a pseudonymous visitor id: a visitor's data lives only here.
VISITOR_TABLES = ("events", "consent_receipts")
SITE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
_MAX_U64 = 2**64 - 1


class RightsError(ValueError):
    """A site or visitor id that cannot name stored data; the message names the field."""


def check_site(site: str) -> str:
    if not isinstance(site, str) or not SITE_PATTERN.match(site):
        raise RightsError("site: must be a site id (1-100 ASCII letters, digits, '.', '_', ':', '-')")
    return site


def parse_visitor(raw: Any) -> int:
    """A stored visitor id (UInt64, as a number or a decimal string); 0 is the 'no id' value, refused."""
    text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    if not text.isdigit() or not 0 < int(text) <= _MAX_U64:
        raise RightsError("visitor: must be a stored visitor id, a decimal number between 1 and 2^64-1")
    return int(text)


def _where(visitor: int | None) -> str:
    return "site = {site:String}" + (" AND visitor_id = {visitor:UInt64}" if visitor is not None else "")


def field_docs(client: Any, tables: tuple[str, ...] = VISITOR_TABLES) -> dict[str, dict[str, str]]:
    """{table: {column: 'what it holds'}} from the DDL column comments: the export documents itself."""
    rows = client.query(
        "SELECT table, name, comment FROM system.columns WHERE database = 'analytics' AND has({t:Array(String)}, table)"
        " ORDER BY table, position", parameters={"t": list(tables)}).result_rows
    docs: dict[str, dict[str, str]] = {}
    for table, name, comment in rows:
        docs.setdefault(table, {})[name] = comment.split("|")[0].strip()
    return docs


def export_visitor(store: Store, site: str, visitor: int, now: float) -> dict[str, Any]:
    """Every raw row and receipt held for (site, visitor), as portable JSON with documented fields."""
    with store.connection() as client:
        tables = {table: _query_rows(client, table, site, visitor) for table in VISITOR_TABLES}
        docs = field_docs(client)
    return {"site": site, "visitor_id": str(visitor), "exported_at": _iso(now),
            "events": tables["events"], "consent_receipts": tables["consent_receipts"], "fields": docs}


def _query_rows(client: Any, table: str, site: str, visitor: int) -> list[dict[str, Any]]:
    ids = "toString(session_id) AS session_id" if table == "events" else "toString(receipt_id) AS receipt_id"
    sql = (f"SELECT * REPLACE (formatDateTime(ts, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS ts, "
           f"toString(visitor_id) AS visitor_id, {ids}) FROM (SELECT * FROM analytics.{table} WHERE {_where(visitor)}) "
           "ORDER BY ts")
    result = client.query(sql, parameters={"site": site, "visitor": visitor})
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(client: Any, table: str, params: dict[str, Any], where: str) -> int:
    return int(client.query(f"SELECT count() FROM analytics.{table} WHERE {where}",
                                  parameters=params).result_rows[0][0])


def delete_sql(table: str, where: str, cluster: str | None = None) -> str:
    """The mutation that deletes matching rows; on a cluster it runs on every replica's local table (the
    Distributed table in front of them takes no mutation)."""
    target = f"analytics.{table}" if cluster is None else f"analytics.{table}_local ON CLUSTER '{cluster}'"
    return f"ALTER TABLE {target} DELETE WHERE {where}"


def mutation_sql(cluster: str | None = None) -> str:
    """The latest mutation of a table (on a cluster: of its local table on every replica, folded: done only
    when done everywhere, with every replica's parts still to rewrite)."""
    if cluster is None:
        return ("SELECT mutation_id, arrayMax(block_numbers.number) AS version, is_done, parts_to_do, "
                "latest_fail_reason FROM system.mutations WHERE database = 'analytics' AND table = {t:String} "
                "ORDER BY version DESC LIMIT 1")
    return ("SELECT any(mutation_id), max(version), min(is_done), sum(parts_to_do), max(latest_fail_reason) FROM "
            "(SELECT hostName() AS host, argMax(mutation_id, create_time) AS mutation_id, "
            "max(arrayMax(block_numbers.number)) AS version, argMax(is_done, create_time) AS is_done, "
            "argMax(parts_to_do, create_time) AS parts_to_do, argMax(latest_fail_reason, create_time) AS "
            f"latest_fail_reason FROM clusterAllReplicas('{cluster}', system.mutations) WHERE database = 'analytics' "
            "AND table = {t:String} GROUP BY host)")


def _delete(client: Any, table: str, where: str, params: dict[str, Any], cluster: str | None = None) -> dict[str, Any]:
    """Delete matching rows with a synchronous mutation and prove it from the engine (lock held). On a cluster
    the rows are counted through the Distributed table (every shard) and the mutation read from every
    replica; the per-part check (no active part older than the mutation) is a single server's."""
    before = _count(client, table, params, where)
    report: dict[str, Any] = {"table": table, "deleted": before, "mutation": None}
    if before:
        client.command(delete_sql(table, where, cluster), parameters=params, settings={"mutations_sync": 2})
        report["mutation"] = _mutation(client, table if cluster is None else f"{table}_local", cluster)
    mutation = report["mutation"]
    report["remaining"] = _count(client, table, params, where)
    report["parts"] = (_parts(client, table, mutation["version"] if mutation else 0) if cluster is None
                       else {"active": None, "older_than_mutation": 0, "superseded_on_disk": None})
    mutation_ok = mutation is None or (mutation["is_done"] and not mutation["parts_to_do"])
    report["verified"] = bool(report["remaining"] == 0 and mutation_ok and report["parts"]["older_than_mutation"] == 0)
    return report


def _mutation(client: Any, table: str, cluster: str | None = None) -> dict[str, Any]:
    row = client.query(mutation_sql(cluster), parameters={"t": table}).result_rows[0]
    return {"id": row[0], "version": int(row[1]), "is_done": bool(row[2]), "parts_to_do": int(row[3]),
            "fail_reason": row[4]}


def _parts(client: Any, table: str, version: int) -> dict[str, int]:
    """Active parts older than the mutation (must be 0: every part was rewritten or written after it) and
    superseded parts still on disk (crash-safety copies the engine removes within old_parts_lifetime)."""
    row = client.query(
        "SELECT countIf(active), countIf(active AND data_version < {v:UInt64}), countIf(NOT active) "
        "FROM system.parts WHERE database = 'analytics' AND table = {t:String}",
        parameters={"t": table, "v": version}).result_rows[0]
    return {"active": int(row[0]), "older_than_mutation": int(row[1]) if version else 0,
            "superseded_on_disk": int(row[2])}


def delete_visitor(store: Store, site: str, visitor: int, keep_receipt: str | None = None) -> dict[str, Any]:
    """Delete every raw row and receipt of (site, visitor); `keep_receipt` spares one receipt (a withdrawal)."""
    params = {"site": site, "visitor": visitor, "keep": keep_receipt or "00000000-0000-0000-0000-000000000000"}
    with store.connection() as client:
        tables = [_delete(client, table, _where(visitor) + (" AND receipt_id != {keep:UUID}"
                                                           if table == "consent_receipts" and keep_receipt else ""),
                          params, store.cluster) for table in VISITOR_TABLES]
        # The open days' visits derived from those rows (collector/visits_open.py), with the same proof; apart
        # from `deleted`, which counts the visitor's own rows (how many derived rows exist depends on timing).
        derived = [_delete(client, "visits_open", _where(visitor), params, store.cluster)]
    summary = _summary(site, tables)
    return summary | {"visitor_id": str(visitor), "derived": derived,
                      "verified": summary["verified"] and all(t["verified"] for t in derived)}


def site_tables(store: Store) -> list[str]:
    """Every table of the analytics database that stores rows (views store nothing); on a cluster, the
    Distributed tables in front of the replicas' local ones."""
    engine = "engine = 'Distributed'" if store.cluster else "engine LIKE '%MergeTree'"
    return [r[0] for r in store.query(f"SELECT name FROM system.tables WHERE database = 'analytics' AND {engine} "
                                      "ORDER BY name")]


def purge_site(store: Store, site: str) -> dict[str, Any]:
    """Delete every raw row, rollup row and receipt of a site, table by table, with the same proof."""
    tables = site_tables(store)
    with store.connection() as client:
        reports = [_delete(client, table, _where(None), {"site": site}, store.cluster) for table in tables]
    return _summary(site, reports)


def _summary(site: str, tables: list[dict[str, Any]]) -> dict[str, Any]:
    return {"site": site, "deleted": {t["table"]: t["deleted"] for t in tables},
            "verified": all(t["verified"] for t in tables), "tables": tables}


def consent_worker(store: Store, writer: receipts.Sink, ctx: Context) -> receipts.Worker:
    """The worker that erases a visitor's data after a withdrawal, writes signal receipts and rotates salts;
    on its beat it also writes the bot breakdown and reloads the withdrawn ids, which it loads now."""
    days = max((p.retention_days for p in ctx.config.sites.values()), default=30) + 1
    try:
        ctx.withdrawn.load(store, days)
    except Exception as exc:  # the store is down (or not readable): the beat retries every minute
        log.error("withdrawn ids not loaded", extra={"error": type(exc).__name__})
    chores = (breakdown.writer_chore(ctx.bots, writer.submit), functools.partial(ctx.withdrawn.load, store, days))
    return receipts.Worker(lambda job: delete_visitor(store, job.site, job.visitor_id, job.keep_receipt),
                           writer, ctx.signals, ctx.salts.rotate, chores=chores)
