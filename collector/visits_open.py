"""The visits of the open days, kept current every round of the closer instead of sessionised at each read.

A day is closed into the visit rollups only once no late event can change it (collector/visits.py), a
little over two days after it starts. Until then its visits live in `analytics.visits_open`: one row per site,
day and visitor with every visit that visitor started that day, exactly as `visits.VISITS_SQL` derives them
from all of the visitor's stored events. Each raw row carries the time it was stored (`inserted`); a round
(`update_open`, every minute or so):

1. reads the watermark W of the last round (the greatest of any site) and takes W' = the store's clock now
   (minus a settle time on a server, where another process's insert may still be in flight; none on the
   embedded store, whose inserts all run under the lock this round holds while it reads the clock);
2. re-sessionises every visitor with rows stored in (W, W'], from all of that visitor's events of the open
   days, in pieces of visitors (id ranges) so the store lock is held for a bounded number of rows at a time;
   it writes that visitor's row for every day it has events on, a day whose visit a late event moved to the
   day before getting empty arrays; the version is the store time of the visitor's newest event and how many
   events were seen, so it only grows with what was seen and the newest state wins (ReplacingMergeTree);
3. builds the open days in the shapes of the visit rollups from visits_open (collector/open_rollups.py), when
   rows were stored since the last round or no build exists yet;
4. records W' for every site it has seen, with the build (the greatest watermark wins).

A read of days from `open_from` on (see collector/read/builder.py) takes the current build as it takes the
day rollups, as of the round. What no visit rollup holds, it takes from the rows of `visits_open` of the
visitors without rows stored after W and sessionises at query time only those with rows stored after W:
the visitors active in the last minute or two, never whole days. Nothing lives in a process: every process
and machine reads the same rows and gets the same visits. A repeated round, a crash half-way (W is written
last) or two closers at once write identical rows or rows an equal or newer version replaces.

A late event (up to the accepted past window) that changes a visit already in `visits_open` makes its
visitor "stored after W": the next round rewrites its rows with a greater version, which replaces the old
state (a visit split, merged, moved to another day or given another source), and builds the open days again
(reads that sessionise the fresh visitors count it at once). The day rollups never see a correction: they are
written once per day, when final.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from . import open_rollups, visits
from .store import Store


class Mark(NamedTuple):
    """How far the rounds have come: every raw row stored up to `watermark_ms` is in visits_open for the days
    from `open_from` on; `built_ms` names the current build of visits_open_daily (0: none yet)."""

    watermark_ms: int
    open_from: dt.date
    built_ms: int


SERVER_SETTLE_S = 30  # on a server, inserts of other processes stored with an earlier time may still be running
OPEN_CHUNK_ROWS = 50_000  # raw rows (of visitors stored since the last round) per statement
_ARRAYS = ("start", "tier", "duration_s", "pageviews", "events", "interactions", "bounce", "entry_page", "exit_page",
           *visits.FIRST, "rollup_retention_days")
_OUT = ("site", "day", "start", "visitor_id", "tier", "duration_s", "pageviews", "events", "interactions", "bounce",
        "entry_page", "exit_page", *visits.FIRST, "rollup_retention_days")  # the columns of visits.VISITS_SQL
_WINDOW = "ts >= toDateTime({%s:Date}) - %d AND ts < toDateTime({%s:Date}) + 2 * 86400"


def _window(start: str, end: str) -> str:
    """The raw rows that can belong to a visit started on days `start`..`end` (as VISITS_SQL reads them)."""
    return _WINDOW % (start, visits.GAP_S, end)


def stored_after(start: str, end: str, watermark: str) -> str:
    """Visitors of {site:String} with raw rows stored after the watermark parameter, within the day range."""
    return (f"SELECT visitor_id FROM analytics.events WHERE site = {{site:String}} AND {_window(start, end)} "
            f"AND inserted > fromUnixTimestamp64Milli({{{watermark}:Int64}})")


def open_select(start: str = "from", end: str = "to", watermark: str = "wm") -> str:
    """The visits that started on days `start`..`end`, with the columns of VISITS_SQL: from visits_open for
    the visitors with nothing stored after the watermark, sessionised from raw rows for the others."""
    fresh = stored_after(start, end, watermark)
    # One index array joined, each column taken by index: a query reads only the arrays it uses.
    inner = ", ".join(f"{c} AS _{c}" for c in _ARRAYS)
    kept = ", ".join(f"_{c}[i] AS {c}" if c in _ARRAYS else c for c in _OUT)
    return (f"SELECT {kept} FROM (SELECT site, day, visitor_id, {inner} FROM analytics.visits_open FINAL "
            f"WHERE site = {{site:String}} AND day BETWEEN {{{start}:Date}} AND {{{end}:Date}} "
            f"AND visitor_id NOT IN ({fresh})) ARRAY JOIN arrayEnumerate(_start) AS i "
            f"UNION ALL SELECT {', '.join(_OUT)} FROM ({visits.visits_select(start, end, f'visitor_id IN ({fresh})')})")


OPEN_SQL = open_select()


def _update_sql(visitors: str) -> str:
    """Rewrite the rows of the visitors `visitors` selects, for days {lo}..{hi}."""
    tuple_cols = ", ".join(_ARRAYS)
    arrays = ", ".join(f"arrayMap(v -> v.{i + 1}, a.vs) AS {c}" for i, c in enumerate(_ARRAYS))
    return f"""
INSERT INTO analytics.visits_open (site, day, visitor_id, version, {tuple_cols}, retention_days)
SELECT b.site, b.day, b.visitor_id, b.version, {arrays}, b.retention_days
FROM (
    SELECT site, visitor_id, version, retention_days, day FROM (
        SELECT site, visitor_id, max(retention_days) AS retention_days,
            toUInt64(toUnixTimestamp64Milli(max(inserted))) * 1000000 + least(count(), 999999) AS version,
            arrayFilter(d -> d BETWEEN {{lo:Date}} AND {{hi:Date}}, groupUniqArray(toDate(ts))) AS days
        FROM analytics.events
        WHERE site = {{site:String}} AND {_window('lo', 'hi')} AND ({visitors})
        GROUP BY site, visitor_id
    ) ARRAY JOIN days AS day
) AS b
LEFT JOIN (
    SELECT visitor_id, day, arraySort(groupArray(({tuple_cols}))) AS vs
    FROM ({visits.visits_select('lo', 'hi', visitors)})
    GROUP BY visitor_id, day
) AS a ON a.visitor_id = b.visitor_id AND a.day = b.day
"""


_CHANGED = ("visitor_id IN (SELECT visitor_id FROM analytics.events WHERE site = {site:String} "
            "AND inserted > fromUnixTimestamp64Milli({prev:Int64}) "
            "AND inserted <= fromUnixTimestamp64Milli({new:Int64}) "
            f"AND {_window('lo', 'hi')}{{piece}})")


def watermark_sql(site: bool = True) -> str:
    """(watermark in ms, open_from, rounds, current build) of the newest round for {site:String} (without
    `site`: of any site), as one tuple: a scalar subquery (collector/read/answer.py reads it beside other facts)."""
    where = " WHERE site = {site:String}" if site else ""
    return ("(SELECT (max(watermark_ms), argMax(open_from, watermark_ms), count(), argMax(built_ms, watermark_ms)) "
            f"FROM analytics.visits_watermark{where})")


# The current build of {site:String} (0: none), as a scalar subquery.
BUILT_SQL = "(SELECT argMax(built_ms, watermark_ms) FROM analytics.visits_watermark WHERE site = {site:String})"


def watermark_of(row: tuple[int, dt.date, int, int]) -> Mark | None:
    """The tuple of `watermark_sql` as a Mark, None before the first round."""
    return Mark(int(row[0]), row[1], int(row[3])) if row[2] else None


def watermark(store: Store, site: str | None = None) -> Mark | None:
    """The newest round for `site` (any site: how far rounds have come), or None before the first round that
    saw the site's rows."""
    rows = store.query(f"SELECT {watermark_sql(site is not None)}", {"site": site} if site else None)
    return watermark_of(rows[0][0])


def update_open(store: Store, now: float, past_window_s: int = 24 * 3600, settle_s: float | None = None,
                chunk_rows: int = OPEN_CHUNK_ROWS) -> dict[str, Any]:
    """One round: bring visits_open up to the store's clock (less `settle_s`) for the days a late event can
    still change; return what was done (visitors' raw rows read, pieces, the new watermark)."""
    settle = (0 if store.embedded else SERVER_SETTLE_S) if settle_s is None else settle_s
    lo = visits.last_closable_day(now, past_window_s)  # one closable day of overlap: a closer may lag a round
    hi = dt.datetime.fromtimestamp(now, dt.UTC).date() + dt.timedelta(days=1)
    last = watermark(store)
    prev, built = (last.watermark_ms, last.built_ms) if last else (0, 0)
    with store.connection() as client:
        new = int(client.query("SELECT toUnixTimestamp64Milli(now64(3))").result_rows[0][0]) - int(settle * 1000)
        params: dict[str, Any] = {"lo": lo, "hi": hi, "prev": prev, "new": new}
        sites = client.query(
            "SELECT site, count() FROM analytics.events WHERE inserted > fromUnixTimestamp64Milli({prev:Int64}) "
            f"AND inserted <= fromUnixTimestamp64Milli({{new:Int64}}) AND {_window('lo', 'hi')} GROUP BY site",
            parameters=params).result_rows
    pieces = 0
    for site, rows in sites:
        n = visits.chunks_of(int(rows), chunk_rows)
        for i in range(n):
            piece = visits.by_visitor(n, i)
            sql = _update_sql(_CHANGED.replace("{piece}", f" AND {piece}" if piece else ""))
            with store.connection() as client:
                client.command(sql, parameters={**params, "site": site})
            visits.yield_lock()
            pieces += 1
    if new > prev:  # every site's rows up to `new` are in: the sites seen now and those seen before
        if sites or not built:  # visits_open changed (or was never built): build it again, before recording it
            open_rollups.build(store, new, lo)
            built = new
        with store.connection() as client:
            client.command(
                "INSERT INTO analytics.visits_watermark (site, watermark_ms, open_from, built_ms) SELECT site, "
                "{new:UInt64}, {lo:Date}, {built:UInt64} FROM (SELECT DISTINCT site FROM analytics.visits_watermark "
                "UNION DISTINCT SELECT arrayJoin({sites:Array(String)}))",
                parameters={"new": new, "lo": lo, "built": built, "sites": [site for site, _ in sites]})
        open_rollups.drop_superseded(store, built)
    _drop_before(store, lo - dt.timedelta(days=2))
    return {"rows": sum(int(r) for _, r in sites), "pieces": pieces, "watermark_ms": max(new, prev),
            "open_from": lo, "built_ms": built}


def _drop_before(store: Store, day: dt.date) -> None:
    """Drop the days before `day`: closed, no longer read, and their visitor ids are not kept any longer."""
    with store.connection() as client:
        old = client.query("SELECT DISTINCT partition_id FROM system.parts WHERE database = 'analytics' "
                           "AND table = {t:String} AND active AND max_date < {d:Date}",
                           parameters={"t": open_rollups.local_name(store, "visits_open"), "d": day}).result_rows
        for (partition,) in old:
            client.command(open_rollups.drop_partition_sql(store, "visits_open", int(partition)))
