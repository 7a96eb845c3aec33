# ruff: noqa: E501  (long user-agent strings and SQL expressions read better unwrapped)
"""Storage and query figures, each on its own embedded store in its own process (chDB opens one store
path per process): `python -m bench.store storage|query` prints one `BENCH {json}` line."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from collector.settings import Settings
from collector.store import Store, migrate, open_store

from . import generate, plausible
from .servers import PYTHON, ROOT
from .table import Row

CHUNK_ROWS = 1_000_000
QUERY_RUNS = 7


def _fill(store: Store, rows: int) -> float:
    start = time.monotonic()
    for offset in range(0, rows, CHUNK_ROWS):
        store.command(f"{generate.INSERT} {generate.events_select(min(CHUNK_ROWS, rows - offset), offset)}")
    return time.monotonic() - start


def _table_bytes(store: Store, database: str, table: str) -> tuple[int, int]:
    rows, size = store.query(f"SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active "
                             f"AND database = '{database}' AND table = '{table}'")[0]
    return int(rows), int(size)


def storage(rows: int = 1_000_000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        store = open_store(Settings(data_dir=Path(tmp)))
        migrate(store)
        fill_s = _fill(store, rows)
        store.command("OPTIMIZE TABLE analytics.events FINAL")
        store.command("CREATE DATABASE IF NOT EXISTS plausible")
        store.command(plausible.DDL)
        store.command(plausible.LOAD)
        store.command("OPTIMIZE TABLE plausible.events_v2 FINAL")
        ours_rows, ours = _table_bytes(store, "analytics", "events")
        theirs_rows, theirs = _table_bytes(store, "plausible", "events_v2")
        columns = store.query("SELECT column, sum(column_data_compressed_bytes) AS b FROM system.parts_columns WHERE active "
                              "AND database = 'analytics' AND table = 'events' GROUP BY column ORDER BY b DESC LIMIT 6")
        store.close()
    return {"rows": ours_rows, "plausible_rows": theirs_rows, "bytes": ours, "plausible_bytes": theirs,
            "fill_s": fill_s, "top_columns": [(name, int(b) / ours_rows) for name, b in columns]}


SITE, DAYS = "bench.example", 30
_DAYS = f"site = '{SITE}' AND day >= today() - {DAYS}"
# The dashboard rollups keep uniqCombined64(12) sketches; the raw side uses the same estimator, so both
# sides compute the same numbers (HyperLogLog registers merged per day equal those of one pass).
_MERGE = "uniqCombined64Merge(12)(visitors)"
_UNIQ = "uniqCombined64(12)(visitor_id)"


def _top(table: str, key: str) -> str:
    """Top 10 by views. Sketches are merged for those 10 keys only, and the table is ordered by key before
    day, so the second pass reads little but those keys' sketches (the first reads keys and views)."""
    top = f"SELECT {key} FROM analytics.{table} WHERE {_DAYS} GROUP BY {key} ORDER BY sum(views) DESC, {key} LIMIT 10"
    return (f"SELECT toString({key}) AS key, sum(views) AS views, {_MERGE} AS visitors FROM analytics.{table} "
            f"WHERE {_DAYS} AND {key} IN ({top}) GROUP BY {key}")


# The dashboard as (key, views, visitors) rows per part: each day of the range plus the 30-day total (key ''),
# the top 10 pages and the top 10 sources, each from the narrowest rollup that holds it.
ROLLUP_PARTS = {
    "days": f"SELECT if(grouping(day) = 1, '', toString(day)) AS key, sum(views) AS views, {_MERGE} AS visitors "
            f"FROM analytics.site_daily WHERE {_DAYS} GROUP BY ROLLUP(day)",
    "pages": _top("top_pages_daily", "path"),
    "sources": _top("top_sources_daily", "referrer_host"),
}
_RAW_WHERE = f"site = '{SITE}' AND toDate(ts) >= today() - {DAYS}"
# The same numbers from the raw table, with the same definitions as the rollups' views.
RAW_PARTS = {
    "days": f"WITH toDate(ts) AS day SELECT if(grouping(day) = 1, '', toString(day)) AS key, "
            f"countIf(type = 'pageview') AS views, {_UNIQ} AS visitors FROM analytics.events WHERE {_RAW_WHERE} "
            f"GROUP BY ROLLUP(day)",
    "pages": f"SELECT path AS key, countIf(type = 'pageview') AS views, {_UNIQ} AS visitors FROM analytics.events "
             f"WHERE {_RAW_WHERE} AND type IN ('pageview', 'engagement') GROUP BY path ORDER BY views DESC, path LIMIT 10",
    "sources": f"SELECT toString(referrer_host) AS key, count() AS views, {_UNIQ} AS visitors FROM analytics.events "
               f"WHERE {_RAW_WHERE} AND type = 'pageview' AND referrer_path = '' GROUP BY referrer_host "
               f"ORDER BY views DESC, referrer_host LIMIT 10",
}


def dashboard_sql(parts: dict[str, str]) -> str:
    """The whole dashboard in one query: one round trip, and the engine runs the parts side by side
    (each query has a fixed cost of a few ms in the embedded engine, the size of a rollup part's work)."""
    union = " UNION ALL ".join(f"SELECT '{name}' AS part, key, views, visitors FROM ({sql})"
                               for name, sql in parts.items())
    return f"SELECT * FROM ({union}) ORDER BY part, if(part = 'days', key, ''), views DESC, key"


ROLLUP, RAW = dashboard_sql(ROLLUP_PARTS), dashboard_sql(RAW_PARTS)


def _dashboard(store: Store, sql: str) -> tuple[float, list[Any]]:
    """Seconds for the whole dashboard and its rows."""
    start = time.perf_counter()
    rows = store.query(sql)
    return time.perf_counter() - start, rows


def query(rows: int = 10_000_000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        store = open_store(Settings(data_dir=Path(tmp)))
        migrate(store)
        fill_s = _fill(store, rows)
        # A month-old store has merged its parts; merge now so runs compare steady states.
        for table in ("events", "site_daily", "top_pages_daily", "top_sources_daily"):
            store.command(f"OPTIMIZE TABLE analytics.{table} FINAL")
        _dashboard(store, ROLLUP), _dashboard(store, RAW)  # first runs load marks and caches
        rollup = [_dashboard(store, ROLLUP) for _ in range(QUERY_RUNS)]
        raw = [_dashboard(store, RAW) for _ in range(QUERY_RUNS)]
        same = rollup[0][1] == raw[0][1]  # every row: totals, days, top pages and sources, views and visitors
        store.close()
    return {"rows": rows, "fill_s": fill_s, "rollup_ms": statistics.median(t for t, _ in rollup) * 1000,
            "raw_ms": statistics.median(t for t, _ in raw) * 1000, "same_answers": same}


def run_part(part: str, rows: int) -> dict[str, Any]:
    """Run a part in a child process (its own chDB store) and return its result."""
    out = subprocess.run([PYTHON, "-m", "bench.store", part, str(rows)], cwd=ROOT, capture_output=True,
                         text=True, timeout=900, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    return json.loads(line[len("BENCH "):])  # type: ignore[no-any-return]


def storage_rows(rows: int = 1_000_000) -> tuple[list[Row], dict[str, Any]]:
    r = run_part("storage", rows)
    ours, theirs = r["bytes"] / r["rows"], r["plausible_bytes"] / r["plausible_rows"]
    top = ", ".join(f"{name} {b:.1f}" for name, b in r["top_columns"])
    return [
        Row(f"Storage: analytics.events, {r['rows']:,} events", f"{ours:.1f} bytes/event",
            f"after OPTIMIZE FINAL; largest columns (bytes/event): {top}; target <= 20 and <= Plausible",
            ours <= 20 and ours <= theirs),
        Row("Storage: same events in Plausible events_v2", f"{theirs:.1f} bytes/event", f"ours / theirs = {ours / theirs:.2f}"),
    ], r


def query_rows(rows: int = 10_000_000) -> tuple[list[Row], dict[str, Any]]:
    r = run_part("query", rows)
    speedup = r["raw_ms"] / r["rollup_ms"]
    return [
        Row(f"Query: 30-day dashboard from rollups ({r['rows'] / 1e6:.0f}M raw events)", f"{r['rollup_ms']:.1f} ms",
            f"totals, time series, top pages, sources in one query; median of {QUERY_RUNS}; target <= 50 ms",
            r["rollup_ms"] <= 50),
        Row("Query: same dashboard from raw events", f"{r['raw_ms']:.1f} ms",
            f"speed-up {speedup:.0f}x (target >= 20x); all answers agree: {r['same_answers']}", speedup >= 20),
    ], r


if __name__ == "__main__":
    part, n = sys.argv[1], int(sys.argv[2])
    result = storage(n) if part == "storage" else query(n)
    print("BENCH " + json.dumps(result))
