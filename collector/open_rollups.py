"""The open days' visits in the shapes of the visit rollups, built once per closer round (analytics.visits_open_daily).

A dashboard reads the open days (today, yesterday, and the day before until it closes) at every load. Reading
them from `analytics.visits_open` means expanding every visitor's arrays and aggregating them at each query,
and sessionising the visitors stored since the last round; measured at 10 million events a month, that made
a visit card's statement ~6 KB of SQL whose planning alone took 55-70 ms. Instead, right after a round has
brought visits_open up to its watermark (collector/visits_open.py), it aggregates visits_open once into a
*build*: for every site and open day, the rows each visit rollup will hold once the day closes, all in one
pass (`GROUPING SETS`), tagged with the round's watermark. Reads of the open days then read a build as they
read the day rollups (collector/read/sources.py), and their figures are those of the last round: the
closer's interval (a minute by default) behind the raw rows, with nothing sessionised at query time.

A build is complete once the round records it (`visits_watermark.built_ms`, written after every row of the
build): a crash half-way leaves rows no read takes, and the next round builds again under a new round. A
round with no rows stored since the last keeps the current build (visits_open has not changed). Superseded
builds are dropped by partition once they have been superseded for `GRACE_MS` (a dashboard's facts, read once
per batch, may still name the older build).
"""

from __future__ import annotations

import datetime as dt

from .cluster import check_name
from .store import Store

GRACE_MS = 10 * 60 * 1000  # a superseded build stays readable this long
BUILT_TABLES = ("visits_open_daily", "card_lists")  # partitioned by the build's round
_SOURCES = ("referrer_host", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_GEO = ("country", "region", "city")
_TECH = ("device", "browser", "browser_version", "os", "os_version")
# kind -> the columns it is grouped by (besides site and day), as in the visit rollups' ORDER BY.
KINDS = {"visits": (), "sources": _SOURCES, "geo": _GEO, "technology": _TECH, "entry": ("entry_page",),
         "exit": ("exit_page",)}
_DIMS = _SOURCES + _GEO + _TECH
_ARRAYS = ("start", "duration_s", "pageviews", "events", "bounce", "entry_page", "exit_page", *_DIMS)


def _kind() -> str:
    # grouping(c) is 0 when c is in the row's grouping set (the SQL standard's meaning, ClickHouse's default).
    arms = [f"grouping({cols[0]}) = 0, '{kind}'" for kind, cols in KINDS.items() if cols]
    return f"multiIf({', '.join(arms)}, 'visits')"


def _dim(column: str) -> str:
    return f"if(grouping({column}) = 0, {column}, '')"


_SETS = ", ".join("(" + ", ".join(("site", "day", *cols)) + ")" for cols in KINDS.values())
BUILD_SQL = f"""
INSERT INTO analytics.visits_open_daily (site, round, day, kind, {', '.join(_DIMS)}, page, visit_count, bounces,
    pageviews, events, duration_s, visitors)
SELECT site, {{round:UInt64}}, day, {_kind()}, {', '.join(_dim(c) for c in _DIMS)},
    if(grouping(entry_page) = 0, entry_page, {_dim('exit_page')}),
    count(), sum(bounce), sum(pageviews), sum(events), sum(duration_s), uniqCombined64State(12)(visitor_id)
FROM (
    SELECT site, day, visitor_id, {', '.join(f'_{c}[i] AS {c}' for c in _ARRAYS)}
    FROM (SELECT site, day, visitor_id, {', '.join(f'{c} AS _{c}' for c in _ARRAYS)}
          FROM analytics.visits_open FINAL WHERE day >= {{lo:Date}})
    ARRAY JOIN arrayEnumerate(_start) AS i
)
GROUP BY GROUPING SETS ({_SETS})
"""


def build(store: Store, round_ms: int, lo: dt.date) -> None:
    """Write the build of round `round_ms`: every site's open days from `lo` on, from visits_open as it is."""
    with store.beside_writer() as client:  # reads and writes only the closer's tables: the writer never waits
        client.command(BUILD_SQL, parameters={"round": round_ms, "lo": lo})


def drop_superseded(store: Store, current_ms: int) -> list[int]:
    """Drop the builds (and the card lists computed from them, collector/read/card_lists.py) older than the
    current one by more than GRACE_MS; return their rounds."""
    dropped: set[int] = set()
    with store.connection() as client:
        for table in BUILT_TABLES:
            old = [int(r[0]) for r in client.query(
                "SELECT DISTINCT partition_id FROM system.parts WHERE database = 'analytics' AND active AND "
                "table = {t:String} AND toUInt64(partition_id) < {before:UInt64}",
                parameters={"t": local_name(store, table), "before": max(0, current_ms - GRACE_MS)}).result_rows]
            for partition in old:
                client.command(drop_partition_sql(store, table, partition))
            dropped |= set(old)
    return sorted(dropped)


def local_name(store: Store, table: str) -> str:
    """The name `table`'s parts have in system.parts: its local table's on a cluster."""
    return f"{table}_local" if store.cluster else table


def drop_partition_sql(store: Store, table: str, partition: int) -> str:
    """DROP PARTITION of one of the closer's tables: of its local tables on every host on a cluster."""
    on = f"_local ON CLUSTER '{check_name(store.cluster)}'" if store.cluster else ""
    return f"ALTER TABLE analytics.{table}{on} DROP PARTITION ID '{int(partition)}'"
