"""Page lists of the standard ranges, ready before they are asked for (analytics.page_windows).

A page list (top, entry or exit pages) over 30 days merges one visitors sketch per page and day: at 10
million events a month, ~93,000 sketches and ~46 MB of sketch bytes per answer, whatever its LIMIT. Once a
day closes, no accepted event can change it or any day before it (collector/visits.py), so the closer
writes, for each site, each page's sketch and counts over the closed days of the dashboard's relative ranges
("last 7 days" and "last 30 days" minus today and yesterday, which are open: WINDOW_DAYS), ending on the
newest closed day. A read of such a range merges one sketch per page for those days and the day rows of the
open days on top (collector/read/builder.py); any other range reads the day rows as before.

A window is marked whole by a `complete` row written last: a crash half-way leaves it unmarked (reads use the
day rows) and the next round writes it again. Writing a window again writes the same rows, and its columns
merge by max (counts) and union (sketches), both of which a duplicate leaves unchanged, in the table's merges
and in reads (which group a window's rows by page with the same functions): a repeated, resumed or
concurrent write changes no answer, without relying on insert deduplication (whose blocks an INSERT ... SELECT
may cut differently each time). On a cluster the windows are read from and written to the
Distributed tables, so a window holds every shard's sketches.
"""

from __future__ import annotations

import datetime as dt

from .store import Store

# The closed days of the relative ranges "7d" and "30d" while today and yesterday are open.
WINDOW_DAYS = (5, 28)

_COLUMNS = ("site, last_day, days, kind, page, pageviews, visit_count, bounces, events, duration_s, visitors, "
            "retention_days")
# A window's rows keep the retention its first day's rows have left (never longer than they are kept).
_KEEP = "toUInt16(greatest(1, toInt32(max(retention_days)) - {days:UInt16} + 1))"
_RANGE = "site = {site:String} AND day BETWEEN {last:Date} - ({days:UInt16} - 1) AND {last:Date}"
PARTS = {
    "page": (f"SELECT site, {{last:Date}}, {{days:UInt16}}, 'page', toString(path), sum(views), 0, 0, 0, 0, "
             f"uniqCombined64MergeState(12)(visitors), {_KEEP} FROM analytics.top_pages_daily WHERE {_RANGE} "
             "GROUP BY site, path"),
    "visits": (f"SELECT site, {{last:Date}}, {{days:UInt16}}, toString(kind), page, sum(pageviews), "
               f"sum(visit_count), sum(bounces), sum(events), sum(duration_s), uniqCombined64MergeState(12)(visitors), "
               f"{_KEEP} FROM analytics.visit_pages_daily WHERE {_RANGE} GROUP BY site, kind, page"),
    "complete": ("SELECT {site:String}, {last:Date}, {days:UInt16}, 'complete', '', 0, 0, 0, 0, 0, "
                 "uniqCombined64State(12)(number), 7 FROM numbers(0)"),  # an empty sketch
}

# (last day, length) of the whole windows of {site:String}, as a scalar subquery (collector/read/answer.py
# reads it with the other facts a query needs, and uses those that end on the newest closed day).
READY_SQL = ("(SELECT groupArray((last_day, days)) FROM analytics.page_windows WHERE site = {site:String} "
             "AND kind = 'complete')")


def write(store: Store, site: str, last: dt.date, days: int, parts: tuple[str, ...] = tuple(PARTS)) -> None:
    """Write the window of `days` days ending on `last` for `site` (every day of it closed); `parts` of it
    only, to show what a crash half-way leaves."""
    params = {"site": site, "last": last, "days": days}
    for name in parts:
        with store.connection() as client:
            client.command(f"INSERT INTO analytics.page_windows ({_COLUMNS}) {PARTS[name]}", parameters=params)


def keep_current(store: Store) -> list[tuple[str, dt.date, int]]:
    """Write every window of WINDOW_DAYS ending on each site's newest closed day that is not whole yet;
    return what was written."""
    rows = store.query(
        "SELECT c.site, c.last, arrayFilter(d -> NOT has(w.ready, d), {spans:Array(UInt16)}) FROM "
        "(SELECT site, max(day) AS last FROM analytics.visits_closed GROUP BY site) AS c "
        "LEFT JOIN (SELECT site, last_day, groupUniqArray(days) AS ready FROM analytics.page_windows "
        "WHERE kind = 'complete' GROUP BY site, last_day) AS w ON w.site = c.site AND w.last_day = c.last",
        {"spans": list(WINDOW_DAYS)})
    done = []
    for site, last, missing in rows:
        for days in missing:
            write(store, site, last, int(days))
            done.append((site, last, int(days)))
    return done
