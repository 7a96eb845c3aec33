# ruff: noqa: E501  (SQL reads better unwrapped)
"""The two visit designs, measured on the same generated events: `python -m bench.visits_design [rows]`.

A. The sessioniser (collector/visits.py): nothing per event; once per closed day, one INSERT ... SELECT over
   the raw events feeds the visit rollups. Cost: engine time per event, off the ingest path.
B. Visit state in the pipeline written to a collapsing table (Plausible's sessions_v2): per event, look the
   visitor's open visit up in memory, write a cancel row (sign -1) for its old state and a row for the new
   one; signed sums in the rollup. Cost: Python per event in the ingest process, and two more rows per event
   for the engine. Its state is per process and lost on restart, and an event that arrives late cannot be
   put into the visit it belongs to: both break what visits must guarantee here (see docs/internals/visits.md).

Prints µs per event for each part next to the raw insert of the same events (the ingest baseline).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from collector import visits
from collector.settings import Settings
from collector.store import Store, migrate, open_store

from . import generate

BLOCK = 50_000
SESSIONS_DDL = [
    "CREATE DATABASE IF NOT EXISTS proto",
    "CREATE TABLE proto.sessions (site LowCardinality(String), visitor_id UInt64, start DateTime, last DateTime, "
    "sign Int8, pageviews UInt32, events UInt32, interactions UInt32, entry_page String, exit_page String, "
    "referrer_host LowCardinality(String), utm_source LowCardinality(String), country LowCardinality(String), "
    "city LowCardinality(String), browser LowCardinality(String), os LowCardinality(String), device LowCardinality(String)) "
    "ENGINE = CollapsingMergeTree(sign) PARTITION BY toYYYYMM(start) ORDER BY (site, toDate(start), visitor_id, start)",
    "CREATE TABLE proto.visits_daily (site LowCardinality(String), day Date, n SimpleAggregateFunction(sum, Int64), "
    "bounce_n SimpleAggregateFunction(sum, Int64), pv SimpleAggregateFunction(sum, Int64), "
    "dur SimpleAggregateFunction(sum, Int64)) ENGINE = AggregatingMergeTree ORDER BY (site, day)",
    "CREATE MATERIALIZED VIEW proto.visits_daily_mv TO proto.visits_daily AS SELECT site, toDate(start) AS day, "
    "sum(sign) AS n, sum(sign * (pageviews = 1 AND interactions = 0)) AS bounce_n, sum(sign * pageviews) AS pv, "
    "sum(sign * dateDiff('second', start, last)) AS dur FROM proto.sessions GROUP BY site, day",
]
COLUMNS = ["site", "visitor_id", "start", "last", "sign", "pageviews", "events", "interactions", "entry_page", "exit_page",
           "referrer_host", "utm_source", "country", "city", "browser", "os", "device"]


def _rows(store: Store) -> list[tuple[Any, ...]]:
    return store.query("SELECT site, visitor_id, toUnixTimestamp(ts), type, path, referrer_host, utm_source, country, "
                       "city, browser, os, device FROM analytics.events ORDER BY ts")


def collapsing(events: list[tuple[Any, ...]]) -> tuple[float, list[bytes], int]:
    """Design B's per-event work in the ingest process: (seconds, encoded blocks of session rows, rows)."""
    state: dict[tuple[str, int], list[Any]] = {}
    out: list[bytes] = []
    start = time.perf_counter()
    for site, vid, ts, kind, path, ref, utm, country, city, browser, os_, device in events:
        key = (site, vid)
        old = state.get(key)
        if old is not None and ts - old[3] <= visits.GAP_S:
            out.append(orjson.dumps([*old[:4], -1, *old[5:]]))
            new = [site, vid, old[2], ts, 1, old[5] + (kind == "pageview"), old[6] + 1,
                   old[7] + (kind in visits.INTERACTIONS), old[8], path if kind == "pageview" else old[9], *old[10:]]
        else:
            new = [site, vid, ts, ts, 1, int(kind == "pageview"), 1, int(kind in visits.INTERACTIONS), path, path,
                   ref, utm, country, city, browser, os_, device]
        state[key] = new
        out.append(orjson.dumps(new))
    blocks = [b"\n".join(out[i:i + BLOCK]) for i in range(0, len(out), BLOCK)]
    return time.perf_counter() - start, blocks, len(out)


def run(rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-visits-") as tmp:
        store = open_store(Settings(data_dir=Path(tmp)))
        migrate(store)
        t0 = time.perf_counter()
        store.command(f"INSERT INTO analytics.events {generate.events_select(rows)}")
        insert_s = time.perf_counter() - t0
        first, last = store.query("SELECT min(toDate(ts)), max(toDate(ts)) FROM analytics.events")[0]
        t0 = time.perf_counter()
        day = first
        while day <= last:
            for site in ("bench.example", "shop.example", "docs.example"):
                visits.close_day(store, site, day)
            day += dt.timedelta(days=1)
        sessioniser_s = time.perf_counter() - t0
        for sql in SESSIONS_DDL:
            store.command(sql)
        events = _rows(store)
        python_s, blocks, session_rows = collapsing(events)
        t0 = time.perf_counter()
        for i, block in enumerate(blocks):
            with store.lock:
                store.client.raw_insert("proto.sessions", COLUMNS, block, fmt="JSONCompactEachRow",
                                        settings={"insert_deduplication_token": f"s{i}"})
        engine_s = time.perf_counter() - t0
        store.close()
    per = 1e6 / rows
    return {"rows": rows, "raw_insert_us": insert_s * per, "A_sessioniser_us": sessioniser_s * per,
            "B_pipeline_python_us": python_s * per, "B_engine_insert_us": engine_s * per,
            "B_rows_per_event": session_rows / rows}


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    for key, value in result.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
