# ruff: noqa: E501  (SQL reads better unwrapped)
"""The sessioniser's two formulations on the same generated events: `python -m bench.visits_close [rows]`.

`window`: lagInFrame + a running sum over (visitor_id ORDER BY ts), then GROUP BY visit (the former
collector/visits.py; it may give events that share the second a visit starts at to the visit before, which
the generated events never have, so both formulations give the same visits on them). `array`: one sorted array per visitor split at gaps (collector/visits.py now). For every
site and day, each formulation's visits are inserted into a scratch table, alternating, so that load on the
machine falls on both alike; then the two tables are compared row for row (they must be equal) and the
seconds per formulation are printed with their ratio. Then `close_day` itself (rollups, markers) is timed
over the same days, next to the raw insert of the events.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from collector import visits
from collector.settings import Settings
from collector.store import migrate, open_store

from . import generate

SITES = ("bench.example", "shop.example", "docs.example")
_V = visits
WINDOW_SQL = f"""
SELECT site, toDate(start) AS day, start, visitor_id, fe.{len(_V.FIRST) + 3} AS tier,
    toUInt32(dateDiff('second', start, last)) AS duration_s, pageviews, events, interactions,
    toUInt8(pageviews = 1 AND interactions = 0) AS bounce,
    if(pageviews > 0, pv_first.2, any_first.2) AS entry_page,
    if(pageviews > 0, pv_last.2, any_last.2) AS exit_page,
    {", ".join(f"fe.{i + 3} AS {name}" for i, name in enumerate(_V.FIRST))},
    rollup_retention_days
FROM (
    SELECT site, visitor_id, visit_no, min(ts) AS start, max(ts) AS last,
        toUInt32(countIf(type = 'pageview')) AS pageviews, toUInt32(count()) AS events,
        toUInt32(countIf(type IN {_V.INTERACTIONS!r})) AS interactions,
        minIf((ts, path), type = 'pageview') AS pv_first, maxIf((ts, path), type = 'pageview') AS pv_last,
        min((ts, path)) AS any_first, max((ts, path)) AS any_last,
        min((ts, type != 'pageview', {_V._FIRST_TUPLE}, tier)) AS fe,
        max(rollup_retention_days) AS rollup_retention_days
    FROM (
        SELECT *, sum(starts) OVER (PARTITION BY visitor_id ORDER BY ts
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS visit_no
        FROM (
            SELECT site, visitor_id, ts, type, path, tier, {_V._FIRST_TUPLE}, rollup_retention_days,
                dateDiff('second', lagInFrame(ts, 1, toDateTime(0)) OVER (PARTITION BY visitor_id ORDER BY ts
                         ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), ts) > {_V.GAP_S} AS starts
            FROM analytics.events
            WHERE site = {{site:String}}
              AND ts >= toDateTime({{from:Date}}) - {_V.GAP_S} AND ts < toDateTime({{to:Date}}) + 2 * 86400
        )
    )
    GROUP BY site, visitor_id, visit_no
)
WHERE day BETWEEN {{from:Date}} AND {{to:Date}}
"""
FORMULATIONS = {"window": WINDOW_SQL, "array": visits.VISITS_SQL}


def run(rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-visits-close-") as tmp:
        store = open_store(Settings(data_dir=Path(tmp)))
        migrate(store)
        t0 = time.perf_counter()
        store.command(f"{generate.INSERT} {generate.events_select(rows)}")
        insert_s = time.perf_counter() - t0
        first, last = store.query("SELECT min(toDate(ts)), max(toDate(ts)) FROM analytics.events")[0]
        store.command("CREATE DATABASE IF NOT EXISTS proto")
        for name in FORMULATIONS:
            store.command(f"CREATE TABLE proto.{name} ENGINE = MergeTree ORDER BY tuple() AS "
                          f"SELECT {visits._COLUMNS} FROM analytics.visits LIMIT 0")
        seconds = dict.fromkeys(FORMULATIONS, 0.0)
        day = first
        while day <= last:
            for site in SITES:
                params = {"site": site, "from": day, "to": day}
                for name, sql in FORMULATIONS.items():
                    t0 = time.perf_counter()
                    store.client.command(f"INSERT INTO proto.{name} {sql}", parameters=params)
                    seconds[name] += time.perf_counter() - t0
            day += dt.timedelta(days=1)
        counts = {name: store.query(f"SELECT count() FROM proto.{name}")[0][0] for name in FORMULATIONS}
        differ = sum(store.query(f"SELECT count() FROM (SELECT * FROM proto.{a} EXCEPT ALL SELECT * FROM proto.{b})")[0][0]
                     for a, b in (("window", "array"), ("array", "window")))
        t0 = time.perf_counter()
        day = first
        while day <= last:
            for site in SITES:
                visits.close_day(store, site, day)
            day += dt.timedelta(days=1)
        close_s = time.perf_counter() - t0
        store.close()
    per = 1e6 / rows
    return {"rows": rows, "visits": counts["array"], "rows_differing": differ, "raw_insert_us": insert_s * per,
            "window_us": seconds["window"] * per, "array_us": seconds["array"] * per,
            "window_over_array": seconds["window"] / seconds["array"], "close_day_us": close_s * per}


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
    for key, value in result.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
