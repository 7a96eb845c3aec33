"""Visits, derived from the raw events by one deterministic sessioniser.

A visit is a visitor's run of events with no gap longer than 30 minutes (every tier: a consented visitor by
its stable id, an anonymous one by its daily hash, so an anonymous visit also ends at midnight UTC, when the
hash changes). It belongs to the UTC day it started on; its source, location and device are those of its
first event, its entry and exit pages those of its first and last pageview; a bounce is a visit with one
pageview and no interaction (click, custom event, form).

Visits are a function of the raw table only, never of which process received an event or of what a process
remembered: `VISITS_SQL` computes them for any range of days. A day is *closed* once no accepted event can
still land in it or extend one of its visits (`ts_past_window_s` plus the 30-minute gap after the day's end);
`close_due` then writes the day's visits through `analytics.visits` (stores nothing) into the visit rollups,
with an insert token per site and day, and records the day in `analytics.visits_closed`. Running it twice, on
two machines at once, or again after a crash between the two inserts writes each day once. Reads take closed
days from the rollups and open days from `VISITS_SQL` over the raw table (see collector/read/builder.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from . import page_windows
from .config import DEFAULT_ROLLUP_DAYS
from .store import Store

log = logging.getLogger("collector.visits")

PAUSE_S = 0.05  # between two pieces of closing work, so a writer waiting for the store lock gets it
CLOSE_CHUNK_ROWS = 50_000  # raw rows per closing statement: the longest the store lock is held for a closer
GAP_S = 30 * 60  # 30 minutes without an event ends a visit (Plausible, Matomo, PostHog)
INTERACTIONS = ("click", "custom", "form")
# Attributes of the first event that a visit keeps (its source, location and device).
FIRST = ("referrer_host", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
         "country", "region", "city", "device", "browser", "browser_version", "os", "os_version")

# Visits that started on days {from:Date}..{to:Date} for {site:String}. Events from 30 minutes before the
# range tell whether its first events continue an earlier visit (such a visit is not counted: it started
# before); events until the end of the next day let a visit that crosses midnight finish. Ties in time are broken
# by the values themselves, so the same events always give the same visits.
#
# One array per visitor, sorted by (ts, path, type, tier, first-event attributes, retention), is split where
# the gap to the previous event exceeds GAP_S (arraySplit); each piece is a visit. One GROUP BY instead of
# two window functions (lagInFrame, then a running sum over rows ordered by time alone, which could also give
# events sharing the second a visit starts at to the visit before); see bench/visits_close.py.
# In that order the first and last elements are the visit's min and max (ts, path), the first and last
# pageviews its min and max pageview (ts, path); the first event's attributes are the min of
# (ts, type != 'pageview', attributes..., tier) over the events at the visit's start.
_FIRST_TUPLE = ", ".join(FIRST)
_E_FIRST = ", ".join(f"e.{i + 5}" for i in range(len(FIRST)))  # FIRST in the sorted tuple: after ts, path, type, tier
_E_KEEP = len(FIRST) + 5  # rollup_retention_days in the sorted tuple
_VISITS_SQL = f"""
SELECT site, toDate(start) AS day, start, visitor_id, fe.{len(FIRST) + 3} AS tier,
    toUInt32(dateDiff('second', start, last)) AS duration_s, pageviews, events, interactions,
    toUInt8(pageviews = 1 AND interactions = 0) AS bounce,
    if(pageviews > 0, arrayFirst(e -> e.3 = 'pageview', v).2, v[1].2) AS entry_page,
    if(pageviews > 0, arrayLast(e -> e.3 = 'pageview', v).2, v[-1].2) AS exit_page,
    {", ".join(f"fe.{i + 3} AS {name}" for i, name in enumerate(FIRST))},
    rollup_retention_days
FROM (
    SELECT site, visitor_id, v, v[1].1 AS start, v[-1].1 AS last,
        toUInt32(arrayCount(e -> e.3 = 'pageview', v)) AS pageviews, toUInt32(length(v)) AS events,
        toUInt32(arrayCount(e -> e.3 IN {INTERACTIONS!r}, v)) AS interactions,
        arrayReduce('min', arrayMap(e -> (e.1, e.3 != 'pageview', {_E_FIRST}, e.4),
                                    arrayFilter(e -> e.1 = start, v))) AS fe,
        arrayMax(arrayMap(e -> e.{_E_KEEP}, v)) AS rollup_retention_days
    FROM (
        SELECT site, visitor_id,
            arraySort(groupArray((ts, path, type, tier, {_FIRST_TUPLE}, rollup_retention_days))) AS evs
        FROM analytics.events
        WHERE site = {{site:String}}
          AND ts >= toDateTime({{{{FROM}}:Date}}) - {GAP_S} AND ts < toDateTime({{{{TO}}:Date}}) + 2 * 86400{{EXTRA}}
        GROUP BY site, visitor_id
    )
    ARRAY JOIN arraySplit((e, gap) -> gap > {GAP_S}, evs,
                          arrayDifference(arrayMap(e -> toInt64(toUnixTimestamp(e.1)), evs))) AS v
)
WHERE day BETWEEN {{{{FROM}}:Date}} AND {{{{TO}}:Date}}
"""


def visits_select(start: str = "from", end: str = "to", visitors: str = "") -> str:
    """VISITS_SQL with its day range bound to the parameters named `start` and `end` (besides {site:String});
    `visitors`, a condition on the raw events, keeps the visitors it holds for (all of a visitor's events or none)."""
    sql = _VISITS_SQL.replace("{FROM}", start).replace("{TO}", end)
    return sql.replace("{EXTRA}", f" AND ({visitors})" if visitors else "")


VISITS_SQL = visits_select()

_COLUMNS = ("site, day, start, visitor_id, tier, duration_s, pageviews, events, interactions, bounce, entry_page, "
            f"exit_page, {_FIRST_TUPLE}, rollup_retention_days")


def last_closable_day(now: float, past_window_s: int) -> dt.date:
    """The newest day no accepted event can change: its end plus the late-event window and one gap are past."""
    return (dt.datetime.fromtimestamp(now - past_window_s - GAP_S, dt.UTC) - dt.timedelta(days=1)).date()


# (last closed day, days closed) of {site:String}, as one tuple: a scalar subquery for reads that need it
# next to other facts (collector/read/answer.py asks for everything a query needs in one round).
CLOSED_SQL = "(SELECT (max(day), count()) FROM analytics.visits_closed WHERE site = {site:String})"


def closed_through(store: Store, site: str) -> dt.date | None:
    """The last day of `site` whose visits are in the rollups (days are closed in order), or None."""
    day, days = store.query(f"SELECT {CLOSED_SQL}", {"site": site})[0][0]
    return day if days else None


def _pending(store: Store, until: dt.date) -> list[tuple[str, dt.date]]:
    """(site, first day to close) for every site with raw events on days up to `until` not yet closed."""
    rows = store.query(
        "SELECT e.site, greatest(e.first, if(c.last IS NULL, e.first, c.last + 1)) FROM "
        "(SELECT site, min(toDate(ts)) AS first FROM analytics.events WHERE toDate(ts) <= {until:Date} "
        "GROUP BY site) AS e "
        "LEFT JOIN (SELECT site, max(day) AS last FROM analytics.visits_closed GROUP BY site) AS c ON e.site = c.site "
        "SETTINGS join_use_nulls = 1", {"until": until})
    return [(site, first) for site, first in rows if first <= until]


def yield_lock() -> None:
    """Between two pieces: a lock is not fair, so without a pause the closer would take it again before a
    waiting writer wakes, and the writer would wait for every piece."""
    time.sleep(PAUSE_S)


def chunks_of(rows: int, chunk_rows: int) -> int:
    """How many pieces (by visitor) a job over `rows` raw rows is cut into, at most `chunk_rows` each on average."""
    return max(1, -(-rows // max(1, chunk_rows)))


def by_visitor(n: int, i: int) -> str:
    """The condition keeping piece `i` of `n` of the visitors (all of a visitor's events, or none): a range of
    visitor ids (hashes, so the pieces are even), which the raw table's key (site, day, visitor_id) reads
    without scanning the others."""
    if n == 1:
        return ""
    lo, hi = (2**64 * i) // n, (2**64 * (i + 1)) // n
    return f"visitor_id >= {lo}" + (f" AND visitor_id < {hi}" if i < n - 1 else "")


def close_day(store: Store, site: str, day: dt.date, keep_days: int = DEFAULT_ROLLUP_DAYS,
              chunk_rows: int = CLOSE_CHUNK_ROWS) -> int:
    """Write the visits of `site` that started on `day` to the rollups, once; return how many there were.
    `keep_days` is how long the marker of a day without events is kept (the site's rollup retention).

    The day is written in pieces of about `chunk_rows` raw rows (its visitors split by id ranges), each in its own
    statement with its own insert token, so the store lock is given back between pieces and the writer never
    waits for a whole day. The number of pieces comes from the day's row count, which no longer changes once
    the day is closable: a repeat after a crash cuts the same pieces and each is written once."""
    params = {"site": site, "day": day, "keep": keep_days}
    rows = store.query("SELECT count() FROM analytics.events WHERE site = {site:String} AND toDate(ts) = {day:Date}",
                       params)[0][0]
    n = chunks_of(int(rows), chunk_rows)
    base = f"visits-{site}-{day.isoformat()}"
    for i in range(n):
        token = base if n == 1 else f"{base}-{i}-of-{n}"
        settings = {"insert_deduplication_token": token, "deduplicate_blocks_in_dependent_materialized_views": 1,
                    "min_insert_block_size_rows": 0, "min_insert_block_size_bytes": 0,
                    "max_insert_block_size": 100_000_000}
        sql = f"INSERT INTO analytics.visits ({_COLUMNS}) {visits_select('day', 'day', by_visitor(n, i))}"
        with store.connection() as client:
            client.command(sql, parameters={"site": site, "day": day}, settings=settings)
        yield_lock()
    with store.connection() as client:
        client.command(
            "INSERT INTO analytics.visits_closed (site, day, visit_count, retention_days) SELECT {site:String}, "
            "{day:Date}, (SELECT sum(visit_count) FROM analytics.visits_daily WHERE site = {site:String} "
            "AND day = {day:Date}), (SELECT if(count() = 0, {keep:UInt16}, max(rollup_retention_days)) "
            "FROM analytics.events WHERE site = {site:String} AND toDate(ts) = {day:Date})",
            parameters=params, settings={"insert_deduplication_token": base})
        rows = client.query("SELECT visit_count FROM analytics.visits_closed FINAL WHERE site = {site:String} "
                                  "AND day = {day:Date}", parameters={"site": site, "day": day}).result_rows
    return int(rows[0][0]) if rows else 0


def close_due(store: Store, now: float, past_window_s: int = 24 * 3600,
              keep_days: Callable[[str], int] = lambda site: DEFAULT_ROLLUP_DAYS) -> list[tuple[str, dt.date, int]]:
    """Close, in order, every day that can no longer change and is not closed yet; return what was written.
    `keep_days(site)` is the site's rollup retention."""
    until = last_closable_day(now, past_window_s)
    done = []
    for site, first in _pending(store, until):
        day = first
        while day <= until:
            done.append((site, day, close_day(store, site, day, keep_days(site))))
            day += dt.timedelta(days=1)
    page_windows.keep_current(store)  # the standard ranges' page lists end on the newest closed day
    return done


class Closer:
    """Runs `first` (if given), then `close_due` and `then` (the open days' round, collector/visits_open.py)
    at once and every `interval_s`, on a daemon thread in the
    process that owns the store, so that start-up never waits for the store lock (the writer may be
    replaying its spool). Safe to run in several processes against one server: each day is written once."""

    def __init__(self, store: Store, clock: Callable[[], float], past_window_s: int,
                 keep_days: Callable[[str], int], interval_s: float = 60.0,
                 first: Callable[[], None] | None = None, then: Callable[[], object] | None = None):
        self._store, self._clock, self._window, self._interval = store, clock, past_window_s, interval_s
        self._keep, self._first, self._then = keep_days, first, then
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="visits", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        if self._first is not None:
            try:
                self._first()
            except Exception:  # the store may be down: the rest of the loop does not depend on it
                log.exception("visits closer: start-up task failed")
        while not self._stop.is_set():
            try:
                closed = close_due(self._store, self._clock(), self._window, self._keep)
                if closed:
                    log.info("visits closed", extra={"days": len(closed), "visits": sum(n for *_, n in closed)})
                if self._then is not None:  # after the days: the open days it keeps start where they end
                    self._then()
            except Exception:  # the store may be down; the next round retries the same days
                log.exception("closing visits failed")
            self._stop.wait(self._interval)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            # A thread waiting for the store lock behind the writer's drain is not worth waiting for: it
            # stops at its next check, and one holding the lock finishes its statement before the store closes.
            self._thread.join(2)
