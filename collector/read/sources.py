"""What the stats builder can read (collector/read/builder.py): each table or subquery as a `Source` with its
dimension columns and partial aggregates — the event rollups, the visit rollups, the page windows of the
standard ranges (collector/page_windows.py), and the raw events and sessionised visits for what no rollup
holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .query import EVENT_VISIT_DIMENSIONS

DIRECT = "Direct / None"
_TECH = ("device", "browser", "browser_version", "os", "os_version")
_GEO = ("country", "region", "city")
_UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_SOURCE = f"if(utm_source != '', utm_source, if(referrer_host != '', referrer_host, '{DIRECT}'))"
_REFERRER = f"if(referrer_host = '', '{DIRECT}', referrer_host)"


def _time(day: str, hour: str | None) -> dict[str, str]:
    cols = {"time:day": f"toString({day})", "time:week": f"toString(toMonday({day}))",
            "time:month": f"toString(toStartOfMonth({day}))"}
    if hour:
        cols["time:hour"] = f"toString(toStartOfHour({hour}))"
    return cols


@dataclass(frozen=True, slots=True)
class Source:
    """A table (or subquery) the builder can read: its dimension columns and partial aggregates."""

    name: str
    table: str
    columns: Mapping[str, str]
    partials: Mapping[str, str]
    sketch: str = "uniqCombined64"  # the visitors sketch function and its parameters
    sketch_params: str = "(12)"
    where: str = ""
    day: str = "day"
    raw: bool = False
    window: bool = False  # rows of analytics.page_windows: one per page over a whole range of closed days

    @property
    def grouped(self) -> bool:
        """Whether a part of this source aggregates its rows itself (else they pass to the one aggregation)."""
        return self.raw or self.window

    def covers(self, dims: set[str], partials: set[str]) -> bool:
        props = {d for d in dims if d.startswith("event:props:")}
        if props and self is not EVENTS_RAW:
            return False
        return dims - props <= set(self.columns) and partials <= set(self.partials)

    def column(self, dimension: str, params: dict[str, Any], name: str) -> str:
        """The SQL of `dimension` here; a custom property's key becomes the parameter `name`."""
        if dimension.startswith("event:props:"):
            params[name] = dimension.split(":", 2)[2]
            return f"props[{{{name}:String}}]"
        return self.columns[dimension]


_VISIT_PARTIALS = {"p_v": "uniqCombined64MergeState(12)(visitors)", "p_visits": "sum(visit_count)",
                   "p_bounces": "sum(bounces)", "p_pv": "sum(pageviews)", "p_dur": "sum(duration_s)",
                   "p_ev": "sum(events)"}
_VISIT_RAW_PARTIALS = {"p_v": "uniqCombined64State(12)(visitor_id)", "p_visits": "count()", "p_bounces": "sum(bounce)",
                       "p_pv": "sum(pageviews)", "p_dur": "sum(duration_s)", "p_ev": "sum(events)"}
_VISIT_COLUMNS = {"visit:source": _SOURCE, "visit:referrer": _REFERRER,
                  **{f"visit:{c}": c for c in _UTM + _GEO + _TECH}}


def _visit_rollup(table: str, cols: tuple[str, ...], where: str = "", extra: Mapping[str, str] | None = None) -> Source:
    columns = {d: e for d, e in _VISIT_COLUMNS.items() if d.split(":")[1] in cols}
    if "referrer_host" in cols:
        columns |= {"visit:source": _SOURCE, "visit:referrer": _REFERRER}
    return Source(table, f"analytics.{table}", {**_time("day", None), **columns, **(extra or {})},
                  _VISIT_PARTIALS, where=where)


VISIT_ROLLUPS = (
    _visit_rollup("visits_daily", ()),
    _visit_rollup("visit_sources_daily", ("referrer_host", *_UTM)),
    _visit_rollup("visit_geo_daily", _GEO),
    _visit_rollup("visit_technology_daily", _TECH),
    _visit_rollup("visit_pages_daily", (), "kind = 'entry'", {"visit:entry_page": "page"}),
    _visit_rollup("visit_pages_daily", (), "kind = 'exit'", {"visit:exit_page": "page"}),
)
# The open days of each visit rollup: the same rows in the closer's current build (collector/open_rollups.py).
_BUILD = "round = {built:UInt64}"
OPEN_ROLLUPS = {
    (r.name, r.where): replace(r, name=f"{r.name} (open days)", table="analytics.visits_open_daily",
                               where=f"{r.where or kind} AND {_BUILD}")
    for r, kind in zip(VISIT_ROLLUPS, ("kind = 'visits'", "kind = 'sources'", "kind = 'geo'", "kind = 'technology'",
                                       "", ""), strict=True)
}
VISITS_RAW = Source("raw visits", "({visits})", {**_time("day", "start"), **_VISIT_COLUMNS,
                                                 "visit:entry_page": "entry_page", "visit:exit_page": "exit_page"},
                    _VISIT_RAW_PARTIALS, raw=True)
# Open days once the closer keeps them current: visits_open, plus the visitors stored since its last round
# sessionised from raw rows (collector/visits_open.py).
VISITS_OPEN = Source("open visits", "({open})", VISITS_RAW.columns, _VISIT_RAW_PARTIALS, raw=True)

# Page lists over the closed days of the standard ranges (collector/page_windows.py), each standing in for the
# day rows of one rollup when the range's closed days are a whole window ending on the newest closed day.
# A window's rows are grouped by page with functions a duplicate row leaves unchanged (max, union).
_WINDOW_PARTIALS = {"p_v": "uniqCombined64MergeState(12)(visitors)", "p_visits": "max(visit_count)",
                    "p_bounces": "max(bounces)", "p_pv": "max(pageviews)", "p_dur": "max(duration_s)",
                    "p_ev": "max(events)"}
_PAGE_WINDOW = Source("page windows", "analytics.page_windows", {"event:page": "page"},
                      {p: _WINDOW_PARTIALS[p] for p in ("p_v", "p_pv")}, where="kind = 'page'", window=True)
WINDOWS = {
    ("top_pages_daily", ""): _PAGE_WINDOW,
    ("visit_pages_daily", "kind = 'entry'"): Source("entry page windows", "analytics.page_windows",
                                                    {"visit:entry_page": "page"}, _WINDOW_PARTIALS,
                                                    where="kind = 'entry'", window=True),
    ("visit_pages_daily", "kind = 'exit'"): Source("exit page windows", "analytics.page_windows",
                                                   {"visit:exit_page": "page"}, _WINDOW_PARTIALS,
                                                   where="kind = 'exit'", window=True),
}

PAGE_DIMENSIONS = frozenset({"event:page", "visit:entry_page", "visit:exit_page"})

# The dashboard's cards over the standard ranges as of the closer's current build, each value's visitors
# counted (collector/read/card_lists.py): one row per value, read as they are.
_LIST_PARTIALS = {"p_v": "visitors", "p_visits": "visit_count", "p_bounces": "bounces", "p_pv": "pageviews",
                  "p_dur": "duration_s", "p_ev": "events"}
LISTS = {dim: Source(f"card lists ({dim})", "analytics.card_lists", {dim: "value"},
                     {p: _LIST_PARTIALS[p] for p in (("p_v", "p_pv") if dim == "event:page" else _LIST_PARTIALS)},
                     where=f"dimension = '{dim}'")
         for dim in ("event:page", *(f"visit:{d}" for d in ("entry_page", "exit_page", "source", "country", "region",
                                                          "city", "device", "browser", "os")))}
# Goals come from events_daily, whose sketches keep the default precision: their own sketch column.
LISTS["event:goal"] = Source("card lists (event:goal)", "analytics.card_lists", {"event:goal": "value"},
                             {"p_v": "event_visitors", "p_ev": "events"}, sketch_params="",
                             where="dimension = 'event:goal'")

_GOAL = "if(type = 'custom', name, '')"
EVENT_ROLLUPS = (
    Source("site_daily", "analytics.site_daily", _time("day", None),
           {"p_v": "uniqCombined64MergeState(12)(visitors)", "p_pv": "sum(views)"}),
    Source("tiers_daily", "analytics.tiers_daily", _time("day", None),
           {"p_v": "uniqCombined64MergeState(visitors)", "p_ev": "sum(events)"}, sketch_params=""),
    Source("top_pages_daily", "analytics.top_pages_daily", {**_time("day", None), "event:page": "path"},
           {"p_v": "uniqCombined64MergeState(12)(visitors)", "p_pv": "sum(views)"}),
    Source("events_daily", "analytics.events_daily", {**_time("day", None), "event:goal": _GOAL, "event:name": _GOAL},
           {"p_v": "uniqCombined64MergeState(visitors)", "p_ev": "sum(events)"}, sketch_params="",
           where="type = 'custom'"),
)
EVENTS_RAW = Source("raw events", "analytics.events",
                    {**_time("toDate(ts)", "ts"), "event:page": "path", "event:goal": _GOAL, "event:name": _GOAL,
                     **{d: d.split(":")[1] for d in EVENT_VISIT_DIMENSIONS}},
                    {"p_v": "uniqCombined64State(12)(visitor_id)", "p_pv": "countIf(type = 'pageview')",
                     "p_ev": "count()"},
                    day="toDate(ts)", raw=True)
