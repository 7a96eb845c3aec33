"""The privacy inventory, generated from the schema the engine reports, never from a hand-kept copy.

Every column comment in schemas/clickhouse/*.sql reads 'what | why | consent tiers'. This module reads
them back from system.columns, the table descriptions and TTL expressions from system.tables, and joins
them with each site's policy: for every stored column, what it holds, why, which tiers store it and
how many days it is kept under that site's settings (the TTL expression evaluated by the engine).
A column without a well-formed comment makes the inventory fail, so the schema cannot drift from it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .config import Config
from .store import Store

# Which site setting fills each table's per-row retention_days; every other table is a rollup.
RETENTION_SETTING = {"events": "retention_days", "consent_receipts": "receipt_retention_days",
                     "visits_open": "retention_days"}
ROLLUP_SETTING = "rollup_retention_days"
NEVER_COLLECTED: tuple[tuple[str, str], ...] = (
    ("IP address", "used in memory to look up the location and to rate-limit, then discarded before "
                   "anything is stored"),
    ("Precise location: coordinates, accuracy radius, postal code, network operator (ASN)",
     "the location lookup keeps at most the city, or less if the site says so"),
    ("Full user agent string", "reduced to browser and operating system family, major version and device class"),
    ("Form field values", "only form and field names and whether a field was focused, changed or submitted"),
    ("Full page URLs and query strings", "only the path, utm_* parameters and parameters the site allow-listed"),
    ("The browser's own random ids", "only a keyed hash (HMAC) of them, and only with consent"),
    ("Cookies, device fingerprints, names, e-mail addresses", "never read; e-mail addresses and long numbers "
                                                               "are scrubbed from error messages"),
)
TIERS = {
    "full": "you consented: a pseudonymous visitor id (a keyed hash of your browser's random id) lets us "
            "count returning visits and lets you export or delete your data",
    "anonymous": "no consent choice: no stable id; visits are counted with a hash keyed by a daily random "
                 "salt that is destroyed after two days",
    "denied": "nothing is stored about you, only a count of suppressed events per day",
}


class InventoryError(RuntimeError):
    """The schema does not document a column as 'what | why | tiers', or a site is unknown."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    what: str
    why: str
    tiers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    description: str
    ttl: str  # the TTL expression as the engine reports it, "" when rows never expire
    columns: tuple[Column, ...]


def _column(table: str, name: str, type_: str, comment: str) -> Column:
    parts = [p.strip() for p in comment.split("|")]
    if len(parts) != 3 or not all(parts):
        raise InventoryError(f"analytics.{table}.{name}: column comment must read 'what | why | tiers'")
    return Column(name, type_, parts[0], parts[1], tuple(t.strip() for t in parts[2].split(",")))


def _ttl(create: str) -> str:
    engine_part = create.split(" ENGINE = ", 1)[-1]
    match = re.search(r"\sTTL\s(.+?)(?:\sSETTINGS\s|\sCOMMENT\s|$)", engine_part)
    return match.group(1).strip() if match else ""


def read_schema(store: Store) -> tuple[list[Table], dict[str, tuple[str, list[str]]]]:
    """(stored tables, {view: (target table, column names)}) of the analytics database, from the engine."""
    tables = store.query("SELECT name, engine, create_table_query, comment FROM system.tables "
                         "WHERE database = 'analytics' ORDER BY name")
    columns: dict[str, list[tuple[str, str, str]]] = {}
    for table, name, type_, comment in store.query(
            "SELECT table, name, type, comment FROM system.columns WHERE database = 'analytics' "
            "ORDER BY table, position"):
        columns.setdefault(table, []).append((name, type_, comment))
    stored, views = [], {}
    for name, engine, create, comment in tables:
        if engine == "MaterializedView":
            target = re.search(r"\sTO\s+analytics\.(\w+)", create)
            views[name] = (target.group(1) if target else "", [c[0] for c in columns.get(name, [])])
        elif engine in ("Null", "View"):  # a pass-through table or a (suppressed) query: nothing is stored
            views[name] = ("", [c[0] for c in columns.get(name, [])])
        elif engine.endswith("MergeTree"):
            cols = tuple(_column(name, *c) for c in columns.get(name, []))
            stored.append(Table(name, comment, _ttl(create), cols))
    return stored, views


def retention_days(store: Store, ttl: str, setting_days: int) -> int | None:
    """Days a row written under `setting_days` is kept: the TTL's interval evaluated by the engine."""
    match = re.search(r"toIntervalDay\((.*)\)\s*$", ttl)
    if not match:
        return None
    rows = store.query(f"WITH {int(setting_days)} AS retention_days SELECT toUInt32({match.group(1)})")
    return int(rows[0][0])


def setting_for(table: str) -> str:
    return RETENTION_SETTING.get(table, ROLLUP_SETTING)


def build(store: Store, config: Config, site: str | None = None, now: float | None = None) -> dict[str, Any]:
    """The inventory as JSON-ready data; `site` limits the per-site parts to that site."""
    if site is not None and site not in config.sites:
        raise InventoryError(f"site {site!r} is not configured")
    sites = {s: p for s, p in config.sites.items() if site in (None, s)}
    tables, views = read_schema(store)
    out_tables = []
    for table in tables:
        key = setting_for(table.name)
        days = {s: retention_days(store, table.ttl, getattr(p, key)) for s, p in sites.items()}
        out_tables.append({
            "table": table.name, "description": table.description, "retention_setting": key,
            "retention_expression": table.ttl, "retention_days": days,
            "columns": [{"name": c.name, "type": c.type, "what": c.what, "why": c.why, "tiers": list(c.tiers)}
                        for c in table.columns]})
    return {
        "generated_from": "column comments and TTLs of the analytics schema, read from the engine",
        "generated_at": dt.datetime.fromtimestamp(now, dt.UTC).isoformat() if now is not None else None,
        "sites": {s: {"consent": p.consent, "gpc": p.gpc, "dnt": p.dnt, "geo": p.geo,
                      "policy_version": p.policy_version, "query_params": list(p.query_params)}
                  for s, p in sites.items()},
        "tiers": TIERS,
        "tables": out_tables,
        "views": [{"view": v, "feeds": target, "columns": cols,
                   "stores": "nothing: it writes into its target" if target else "nothing: computed when read"}
                  for v, (target, cols) in views.items()],
        "never_collected": [{"what": what, "how": how} for what, how in NEVER_COLLECTED],
        "rights": {"self_service": ["POST /api/visitor/export", "POST /api/visitor/delete"],
                   "operator": ["GET /admin/dsar/export", "POST /admin/dsar/delete", "POST /admin/purge"]},
    }


_GPC = {"anonymous": "we store your visits without any stable id (the anonymous tier)",
        "denied": "we store nothing about you, only a daily count", "ignore": "it does not change what we store"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(inventory: dict[str, Any]) -> str:
    """Privacy-policy sections (information we collect, retention, your rights), one document per site."""
    return "\n\n---\n\n".join(_site_markdown(inventory, site) for site in inventory["sites"])


def _site_markdown(inv: dict[str, Any], site: str) -> str:
    policy = inv["sites"][site]
    tables = inv["tables"]
    out = [f"# Analytics data we collect on {site}", "",
           "_Generated from the collector's database schema: every stored field is listed below._", "",
           "## Information we collect", "",
           "We use a self-hosted, privacy-first analytics collector. What it stores depends on your choice:", ""]
    out += [f"- **{tier}** — {text}." for tier, text in inv["tiers"].items()]
    strict = "Without your consent nothing is stored (strict mode)." if policy["consent"] == "strict" else (
        "Without a consent choice your visits are counted at the anonymous tier.")
    out += ["", strict + f" If your browser sends Global Privacy Control, {_GPC[policy['gpc']]}; "
            f"if it sends Do Not Track, {_GPC[policy['dnt']]}. Location is stored at most to the "
            f"{policy['geo']} level.", ""]
    for table in tables:
        out += [f"### {table['description'] or table['table']} (`{table['table']}`)", "",
                "| Field | What it holds | Why | Stored at tiers |", "|---|---|---|---|"]
        out += [f"| `{c['name']}` | {_cell(c['what'])} | {_cell(c['why'])} | {', '.join(c['tiers'])} |"
                for c in table["columns"]]
        out.append("")
    out += ["## How long we keep it", "", "| Data | Kept for |", "|---|---|"]
    out += [f"| {table['description'] or table['table']} (`{table['table']}`) | "
            f"{_days(table['retention_days'][site])} |" for table in tables]
    out += ["", "Aggregated reports hold no visitor ids, only counts and sketches from which no id can be read "
            "back; that is why they are kept longer than the raw events.", "",
            "## What we never collect", ""]
    out += [f"- **{item['what']}**: {item['how']}." for item in inv["never_collected"]]
    receipts = next((t for t in tables if t["table"] == "consent_receipts"), None)
    kept = _days(receipts["retention_days"][site]) if receipts else "as long as required"
    out += ["", "## Your rights", "",
            "- **Access and portability**: you can download every record stored under your pseudonymous id "
            "as JSON, from this site's privacy page (your browser proves it is you with its own random id), "
            "or by asking us.",
            "- **Erasure**: you can delete those records the same way; the deletion is verified against the "
            "database before we answer.",
            "- **Withdrawing consent**: withdrawing deletes your raw analytics events at once; later visits are "
            "treated as without consent. The record of your consent choices is kept for "
            f"{kept} as proof (policy version {policy['policy_version'] or 'unversioned'}).",
            "- **Opt-out signals**: Global Privacy Control and Do Not Track are honoured as described above.", ""]
    return "\n".join(out)


def _days(days: int | None) -> str:
    if days is None:
        return "until deleted"
    return f"{days} days" + (f" (about {days / 365.25:.1f} years)" if days >= 365 else "")


def routes() -> list[Route]:
    """GET /privacy/inventory[?site=S][&format=markdown]: public, cached (schema and policy are fixed at startup)."""
    cache: dict[str | None, dict[str, Any]] = {}

    async def inventory(request: Request) -> Response:
        from .admin import json_response

        collector = request.app.state.collector
        site = request.query_params.get("site") or None
        headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"}
        if site is not None and site not in collector.config.sites:
            return json_response(404, {"error": "unknown_site", "detail": "site: not a site of this collector"})
        if site not in cache:
            cache[site] = await run_in_threadpool(build, collector.store, collector.config, site)
        if request.query_params.get("format") == "markdown":
            return Response(markdown(cache[site]), media_type="text/markdown; charset=utf-8", headers=headers)
        return json_response(200, cache[site], headers)

    return [Route("/privacy/inventory", inventory, methods=["GET"])]
