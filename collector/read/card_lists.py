"""The dashboard's single-dimension cards over its standard ranges, ready as of the closer's current build
(analytics.card_lists).

A card (top pages, sources, countries, goals...) ranks every value by its visitors before it can fold and cut: a
30-day page list at 10 million events a month is ~3,200 pages, each a sketch of the closed days' page window
merged with the open days' day rows, ~120 ms of merging per answer whatever its LIMIT; a country card merges
a sketch per city and day. After each round of the closer (collector/visits_open.py) this module computes,
once per site, the cards of the relative ranges the dashboard opens with ("last 7 days" and "last 30 days",
which end today), with the stats builder itself (`builder.inner_of`: the admin's unsuppressed rows over the
same rollups, page windows and build a read would merge), and stores one row per value with its visitors
counted. A read of such a card without filters takes those rows as they are (the fold still applies the
reader's suppression and noise), so it costs about the same whatever the traffic behind each value; every
other range, filter, dimension or column is read as before.

Lists are keyed by the build they come from: they answer exactly what a read of that build would, and a
newer build (the next round with new rows) makes them stale, so reads take only the lists of the current
build. An attempt is whole once its `complete` row, written last, exists: a crash half-way leaves rows no
read takes, and the next call writes a new attempt.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from ..config import Config
from ..store import Store
from . import answer, builder
from .query import Query

RANGES = (7, 30)  # "7d" and "30d": today and the days before it
_VISITS = ("visitors", "visits", "bounce_rate", "pageviews", "visit_duration", "events")
# The dashboard's cards (collector/read/static/cards.js), each with every metric it can show.
CARDS = {"event:page": ("visitors", "pageviews"), "event:goal": ("visitors", "events"),
         **{f"visit:{d}": _VISITS for d in ("entry_page", "exit_page", "source", "country", "region", "city",
                                            "device", "browser", "os")}}
_COLUMNS = ("site, round, date_from, date_to, attempt, dimension, value, uniques, pageviews, visit_count, bounces, "
            "events, duration_s")
_PARTIALS = ("p_pv", "p_visits", "p_bounces", "p_ev", "p_dur")  # in the order of _COLUMNS after uniques

def keep_ready(store: Store, config: Config, now: float) -> list[tuple[str, int, dt.date, dt.date]]:
    """After a round of the closer: the lists of its current build for the ranges ending on `now`'s UTC day."""
    return write(store, config, dt.datetime.fromtimestamp(now, dt.UTC).date())


def write(store: Store, config: Config, today: dt.date) -> list[tuple[str, int, dt.date, dt.date]]:
    """Write the cards of RANGES ending `today` for every configured site whose current build has none yet;
    return (site, build, from, to) of those written. A range that would need raw events (the closer is days
    behind) is not written: reads compute it as before."""
    done = []
    for site in config.sites:
        for days in RANGES:
            start = today - dt.timedelta(days=days - 1)
            probe = Query(site, ("visitors",), start, today, ("event:page",))
            ctx = answer.context(store, config, probe, today, admin=True)
            if not ctx.built_ms or any((a, b) == (start, today) for a, b, _ in ctx.lists):
                continue
            if _write_one(store, site, ctx, start, today):
                done.append((site, ctx.built_ms, start, today))
    return done


def _write_one(store: Store, site: str, ctx: builder.Context, start: dt.date, end: dt.date) -> bool:
    attempt = time.time_ns() // 1000
    head: dict[str, Any] = {"s_site": site, "s_round": ctx.built_ms, "s_from": start, "s_to": end,
                            "s_attempt": attempt}
    statements = []
    for dim, metrics in CARDS.items():
        params: dict[str, Any] = {"site": site, "k": 0}
        try:
            inner, parts = builder.inner_of(Query(site, metrics, start, end, (dim,)), ctx, params)
        except builder.RawExpired:
            return False
        if any(source.raw for source, _, _ in parts):
            return False
        have = builder.partials_of(Query(site, metrics, start, end, (dim,)))
        sums = ", ".join(p if p in have else "0" for p in _PARTIALS)
        # The sketch goes to the column of its type: the custom-event rollups keep the default precision.
        sketch = "event_visitors" if parts[0][0].sketch_params == "" else "visitors"
        statements.append((f"INSERT INTO analytics.card_lists ({_COLUMNS}, {sketch}) SELECT {{s_site:String}}, "
                           "{s_round:UInt64}, {s_from:Date}, {s_to:Date}, {s_attempt:UInt64}, "
                           f"'{dim}', g0, finalizeAggregation(p_v), {sums}, p_v FROM ({inner})", {**params, **head}))
    statements.append((f"INSERT INTO analytics.card_lists ({_COLUMNS}) SELECT {{s_site:String}}, {{s_round:UInt64}}, "
                       "{s_from:Date}, {s_to:Date}, {s_attempt:UInt64}, '', '', 0, 0, 0, 0, 0, 0",
                       head))  # the complete row, written last
    for sql, params in statements:
        with store.beside_writer() as client:  # the writer never waits for a card
            client.command(sql, parameters=params)
    store.changed()
    return True
