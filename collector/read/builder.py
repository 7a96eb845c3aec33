"""One SQL builder for the stats API: a `Query` in, parameterised ClickHouse SQL out.

The builder picks what to read from the query, never the caller: event metrics from the first rollup that
has every dimension and filter column, else from the raw events; session metrics from the visit rollups
for days the sessioniser has closed and, for the open days after, from the closer's current build of them in
the same shapes (collector/open_rollups.py), else from visits_open and the visitors stored since its round
(collector/visits_open.py), else from the sessionised raw events (collector/visits.py). A single-dimension
card of a standard range reads the closer's card list when there is one (collector/read/card_lists.py).
Raw reads are allowed only inside the site's raw retention (`RawExpired` otherwise). The result of
every query goes through the small-cell fold of collector/read/suppress.py (which also perturbs a
reader's counts, collector/read/cellkey.py). Request values only ever reach
the SQL as `{name:Type}` parameters. What it can read is collector/read/sources.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import visits, visits_open
from . import cellkey
from .query import Condition, Filter, Logic, Query, conditions
from .sources import (
    EVENT_ROLLUPS,
    EVENTS_RAW,
    LISTS,
    OPEN_ROLLUPS,
    PAGE_DIMENSIONS,
    VISIT_ROLLUPS,
    VISITS_OPEN,
    VISITS_RAW,
    WINDOWS,
    Source,
)
from .suppress import fold_sql

METRIC_PARTIALS = {"visitors": {"p_v"}, "visits": {"p_visits"}, "pageviews": {"p_pv"}, "events": {"p_ev"},
                   "bounce_rate": {"p_bounces", "p_visits"}, "views_per_visit": {"p_pv", "p_visits"},
                   "visit_duration": {"p_dur", "p_visits"}, "percentage": {"p_v"}, "conversion_rate": {"p_v"},
                   "scroll_depth": set()}
# Outer expressions over the folded rows; `{merge}` is the visitors sketch's merge function.
METRIC_SQL = {
    "visitors": "{merge}(p_v)", "visits": "sum(p_visits)", "pageviews": "sum(p_pv)", "events": "sum(p_ev)",
    "bounce_rate": "if(sum(p_visits) = 0, 0, toInt64(round(100 * sum(p_bounces) / sum(p_visits))))",
    "views_per_visit": "if(sum(p_visits) = 0, 0, round(sum(p_pv) / sum(p_visits), 2))",
    "visit_duration": "if(sum(p_visits) = 0, 0, toInt64(round(sum(p_dur) / sum(p_visits))))",
}


class RawExpired(Exception):
    """The query needs raw events older than the site keeps them."""


@dataclass
class Plan:
    """One SQL statement, its parameters and what it read (for `meta`)."""

    sql: str
    params: dict[str, Any]
    sources: list[str] = field(default_factory=list)
    dims: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()  # the SQL's metric columns, in order, after the dimensions


@dataclass(frozen=True, slots=True)
class Context:
    """What the builder needs besides the query: the date, the raw retention and the closed visit days."""

    today: dt.date
    raw_days: int
    closed_through: dt.date | None
    k: int
    cell_key: Mapping[str, int] | None = None  # the site's noise secret (cellkey.key_of), needed when k > 1
    watermark_ms: int | None = None  # the closer's last round: every raw row stored by then is in visits_open
    open_from: dt.date | None = None  # ... for the days from this one on
    windows: frozenset[int] = frozenset()  # lengths of the whole page windows ending on closed_through
    built_ms: int = 0  # the closer's current build of the open days in rollup shapes (0: none)
    lists: tuple[tuple[dt.date, dt.date, int], ...] = ()  # (from, to, attempt) of the card lists of that build


def _sql_metrics(q: Query) -> tuple[str, ...]:
    """Metrics the SQL computes: the requested ones it can, plus visitors (suppression needs it)."""
    wanted = [m for m in q.metrics if m in METRIC_SQL]
    return tuple(["visitors"] + [m for m in wanted if m != "visitors"])


def partials_of(q: Query) -> set[str]:
    """The partial aggregates `q` needs (the visitors sketch always: suppression needs it)."""
    out = {"p_v"}
    for m in q.metrics:
        out |= METRIC_PARTIALS[m]
    return out


def _check_raw(start: dt.date, ctx: Context) -> None:
    oldest = ctx.today - dt.timedelta(days=ctx.raw_days - 1)
    if start < oldest:
        raise RawExpired(f"this query needs raw events from {start.isoformat()}, but the site keeps raw events "
                         f"for {ctx.raw_days} days (since {oldest.isoformat()}); ask for a dimension or filter "
                         "the rollups hold, or a later date_range")


def build(q: Query, ctx: Context) -> Plan:
    """The plan answering `q` (without scroll_depth, see `scroll_plan`)."""
    params: dict[str, Any] = {"site": q.site, "k": ctx.k}
    if ctx.k > 1:
        if ctx.cell_key is None:
            raise ValueError("a reader's answer needs the site's cell key")  # never noise with a known key
        params |= ctx.cell_key
    listed = _listed(q, ctx, params)
    inner, parts = listed if listed else inner_of(q, ctx, params)
    first = parts[0][0]
    merge = f"{first.sketch}Merge{first.sketch_params}"
    metrics = _sql_metrics(q)
    outer = {m: METRIC_SQL[m].format(merge=merge) for m in metrics}
    sql = fold_sql(inner, len(q.dimensions), outer, merge, _order(q, metrics), perturb=ctx.k > 1,
                   many=pages(q), counted=listed is not None)
    sources = [f"{'raw' if s.raw else 'rollup'}:{s.name} {a.isoformat()}..{b.isoformat()}" for s, a, b in parts]
    return Plan(sql, params, sources, q.dimensions, metrics)


def inner_of(q: Query, ctx: Context, params: dict[str, Any]) -> tuple[str, list[tuple[Source, dt.date, dt.date]]]:
    """(SQL of the rows the fold takes: columns g0..gN-1, a visitors sketch state p_v and the partial sums
    the query needs; the parts read), adding the parameters it uses to `params`."""
    dims, partials = set(q.dimensions) | set(q.filter_dims), partials_of(q)
    parts: list[tuple[Source, dt.date, dt.date]] = []
    event_rollup = None if q.session else next((s for s in EVENT_ROLLUPS if s.covers(dims, partials)), None)
    # No event rollup holds it and no event dimension asks for events: visits hold the same numbers.
    visit_family = q.session or (event_rollup is None and not q.event_dims and "scroll_depth" not in q.metrics)
    if visit_family:
        rollup = next((s for s in VISIT_ROLLUPS if s.covers(dims, partials)), None)
        closed = ctx.closed_through
        if rollup is not None and closed is not None and q.date_from <= closed:
            parts.append((rollup, q.date_from, min(q.date_to, closed)))
        start = q.date_from if rollup is None or closed is None else max(q.date_from, closed + dt.timedelta(days=1))
        kept = ctx.watermark_ms is not None and ctx.open_from is not None
        cut = max(start, ctx.open_from) if kept and ctx.open_from else start
        if start < cut:  # open days the closer no longer keeps current (it has not closed them yet)
            parts.append((VISITS_RAW, start, min(q.date_to, cut - dt.timedelta(days=1))))
        if cut <= q.date_to and kept and ctx.built_ms and rollup is not None:  # the closer's current build
            parts.append((OPEN_ROLLUPS[(rollup.name, rollup.where)], cut, q.date_to))
            params["built"] = ctx.built_ms
        elif cut <= q.date_to:
            parts.append((VISITS_OPEN if kept else VISITS_RAW, cut, q.date_to))
            params["wm"] = ctx.watermark_ms or 0
    else:
        parts.append((event_rollup or EVENTS_RAW, q.date_from, q.date_to))
    parts = [piece for part in parts for piece in _windowed(part, ctx, dims, partials)]
    for source, start, _ in parts:
        if source.raw:
            _check_raw(start, ctx)
    first = parts[0][0]
    union = " UNION ALL ".join(_part(q, s, i, a, b, partials, params) for i, (s, a, b) in enumerate(parts))
    groups = [f"g{i}" for i in range(len(q.dimensions))]
    aggs = [f"{first.sketch}MergeState{first.sketch_params}(p_v) AS p_v"]
    aggs += [f"sum({p}) AS {p}" for p in sorted(partials - {"p_v"})]
    # One aggregation over every part's rows: a rollup part passes its rows through (its day rows' sketches are
    # merged once, here); a raw part aggregates its events (or sessionised visits) into sketches first, a
    # window its rows per page, and either alone is the inner query as it is.
    inner = union if len(parts) == 1 and first.grouped else \
        f"SELECT {', '.join(groups + aggs)} FROM ({union}) GROUP BY {', '.join(groups) or 'tuple()'}"
    return inner, parts


def _listed(q: Query, ctx: Context, params: dict[str, Any]) -> tuple[str, list[tuple[Source, dt.date, dt.date]]] | None:
    """The rows of a card the closer keeps ready for `q`'s range (collector/read/card_lists.py), with each
    value's visitors already counted (`vis`), when `q` lists one such dimension without filters over such a
    range and asks only for columns the list holds; else None."""
    if not listed(q) or not ctx.built_ms:
        return None
    source = LISTS[q.dimensions[0]]
    attempt = dict(((a, b), n) for a, b, n in sorted(ctx.lists)).get((q.date_from, q.date_to))
    if attempt is None or not partials_of(q) <= set(source.partials):
        return None
    params |= {"built": ctx.built_ms, "attempt": attempt, "from0": q.date_from, "to0": q.date_to,
               "noise": cellkey.MAX_NOISE}
    where = (f"FROM {source.table} WHERE site = {{site:String}} AND round = {{built:UInt64}} AND date_from = "
             f"{{from0:Date}} AND date_to = {{to0:Date}} AND {source.where} AND attempt = {{attempt:UInt64}}")
    sums = [f"{source.partials[p]} AS {p}" for p in sorted(partials_of(q) - {"p_v"})]
    # Only rows the fold can take need their sketch, and reading a sketch costs (3,200 page sketches: ~50 ms). In
    # ascending order a row folds only while it is small (under k even with the most noise) or the rows before
    # it hold fewer than k visitors: from the first row past both, no row folds. Rows up to that row's count
    # are read with their sketch (the table is ordered by count, so only their granules are read), the others
    # with an empty one.
    bound = (f"(SELECT ifNull(min(if(cum >= {{k:UInt64}} AND vis >= {{k:UInt64}} + {{noise:UInt64}}, vis, NULL)), "
             f"18446744073709551615) FROM (SELECT uniques AS vis, sum(uniques) OVER (ORDER BY uniques ASC, value ASC "
             f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cum {where}))")
    key = f"{source.columns[q.dimensions[0]]} AS g0, uniques AS vis"
    sketched = f"SELECT {key}, {source.partials['p_v']} AS p_v{''.join(', ' + s for s in sums)} {where}"
    if q.dimensions[0] not in LONG_LISTS:  # a few rows: the bound would cost more to plan than it saves
        return sketched, [(source, q.date_from, q.date_to)]
    empty = f"{source.sketch}State{source.sketch_params}(toUInt64(0))"
    sql = (f"{sketched} AND uniques <= {bound} UNION ALL SELECT {key}, (SELECT {empty} FROM numbers(0)) AS p_v"
           f"{''.join(', ' + s for s in sums)} {where} AND uniques > {bound}")
    return sql, [(source, q.date_from, q.date_to)]


def _windowed(part: tuple[Source, dt.date, dt.date], ctx: Context, dims: set[str],
              partials: set[str]) -> list[tuple[Source, dt.date, dt.date]]:
    """`part`, its closed days read from a page window when they are a whole one (and it holds the query's
    columns), the days after them from the day rows."""
    source, start, end = part
    window = WINDOWS.get((source.name, source.where))
    closed = ctx.closed_through
    if window is None or closed is None or not start <= closed <= end or not window.covers(dims, partials) \
            or (closed - start).days + 1 not in ctx.windows:
        return [part]
    return [(window, start, closed)] + ([(source, closed + dt.timedelta(days=1), end)] if closed < end else [])


def _part(q: Query, s: Source, index: int, start: dt.date, end: dt.date, partials: set[str],
          params: dict[str, Any]) -> str:
    params[f"from{index}"], params[f"to{index}"] = start, end
    dims = [f"{s.column(d, params, f'p{index}_{i}')} AS g{i}" for i, d in enumerate(q.dimensions)]
    aggs = [f"{s.partials[p] if s.grouped else _row_column(s.partials[p])} AS {p}" for p in sorted(partials)]
    where = ["site = {site:String}", f"{s.day} BETWEEN {{from{index}:Date}} AND {{to{index}:Date}}"]
    if s.window:
        where[1] = (f"last_day = {{to{index}:Date}} "
                    f"AND days = dateDiff('day', {{from{index}:Date}}, {{to{index}:Date}}) + 1")
    where += [s.where] if s.where else []
    if s is EVENTS_RAW and "event:page" in q.dimensions:
        where.append("type IN ('pageview', 'engagement')")  # a page's visitors, as top_pages_daily counts them
    if s is EVENTS_RAW and any(d in ("event:goal", "event:name") for d in q.dimensions):
        where.append("type = 'custom'")
    where += [_filter_sql(f, s, params, f"f{index}_{i}") for i, f in enumerate(q.filters)]
    table = s.table.format(visits=visits.visits_select(f"from{index}", f"to{index}"),
                           open=visits_open.open_select(f"from{index}", f"to{index}", "wm"))
    group = ", ".join(f"g{i}" for i in range(len(q.dimensions))) or "tuple()"
    grouped = f" GROUP BY {group}" if s.grouped else ""
    return f"SELECT {', '.join(dims + aggs)} FROM {table} WHERE {' AND '.join(where)}{grouped}"


def _row_column(partial: str) -> str:
    """The rollup column a partial aggregates (`sum(views)`, `uniqCombined64MergeState(12)(visitors)`): a
    rollup part passes its rows through to the one aggregation over all parts."""
    return partial[partial.rindex("(") + 1:-1]


def _filter_sql(f: Filter, s: Source, params: dict[str, Any], name: str) -> str:
    if isinstance(f, Logic):
        inner = [_filter_sql(c, s, params, f"{name}_{i}") for i, c in enumerate(f.children)]
        return f"NOT ({inner[0]})" if f.op == "not" else "(" + f" {f.op.upper()} ".join(inner) + ")"
    column = s.column(f.dimension, params, f"{name}_key")
    params[name] = list(f.values) if f.case_sensitive else [v.lower() for v in f.values]
    value = column if f.case_sensitive else f"lower({column})"
    positive = {"is": f"{value} IN {{{name}:Array(String)}}",
                "contains": f"multiSearchAny({value}, {{{name}:Array(String)}})",
                "matches": f"multiMatchAny({value}, {{{name}:Array(String)}})"}
    base = f.op.removesuffix("_not")
    return positive[base] if base == f.op else f"NOT {positive[base]}"


def _order(q: Query, metrics: tuple[str, ...]) -> list[str]:
    def column(key: str) -> str:
        if key in q.dimensions:
            return f"d{q.dimensions.index(key)}"
        return key if key in metrics else "visitors"  # percentage and conversion_rate follow visitors

    keys = [f"{column(k)} {d.upper()}" for k, d in q.order_by]
    if not keys:
        time = [f"d{i} ASC" for i, d in enumerate(q.dimensions) if d.startswith("time")]
        keys = time or [f"{column(q.metrics[0])} DESC"]
    return keys + [f"d{i} ASC" for i in range(len(q.dimensions))]


LONG_LISTS = PAGE_DIMENSIONS | {"visit:region", "visit:city"}  # cards with thousands of rows


def listed(q: Query) -> bool:
    """Whether the card lists may answer `q`: one dimension they hold, no filters."""
    return len(q.dimensions) == 1 and q.dimensions[0] in LISTS and not q.filters


def pages(q: Query) -> bool:
    """Whether `q` lists pages: many rows, and the page windows may answer it."""
    return bool(PAGE_DIMENSIONS & set(q.dimensions))


def needs_props(q: Query) -> bool:
    return any(d.startswith("event:props:") for d in q.dimensions + q.filter_dims)


def conditions_of(q: Query) -> list[Condition]:
    return conditions(q.filters)
