"""Run a stats `Query` against the store and shape the answer like Plausible's Stats API v2:
`{"results": [{"dimensions": [...], "metrics": [...]}], "meta": {...}, "query": {...}}`.

The answer is already suppressed for the reader (k from collector/read/suppress.py), so everything built on
it (the dashboard, CSV export) inherits the rule. `to_csv` is the CSV form of an answer.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from .. import page_windows, visits, visits_open
from ..config import Config
from ..store import Store
from . import builder, cellkey, csv_export, sources, suppress
from .builder import Context
from .query import Condition, Query, conditions

COMPARISONS = {"previous_period", "year_over_year"}
# The facts a plan needs are kept this long by the process, unless it changed the store since (Store.generation);
# older facts are safe (see `one_moment`): another process's change is seen within a second.
FACTS_TTL_S = 1.0
# (from, to, attempt) of the complete card lists of the site's current build (collector/read/card_lists.py).
LISTS_SQL = ("(SELECT groupArray((date_from, date_to, attempt)) FROM analytics.card_lists WHERE site = {site:String} "
             f"AND dimension = '' AND round = {visits_open.BUILT_SQL})")
RATE_METRICS = {"bounce_rate", "conversion_rate", "percentage"}  # change is a difference in points


def execute(store: Store, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with store.beside_writer() as client:
        result = client.query(sql, parameters=params)
    names = result.column_names
    return [dict(zip(names, row, strict=True)) for row in result.result_rows]


_moment: ContextVar[dict[tuple[Any, ...], Context] | None] = ContextVar("answer_moment", default=None)


@contextmanager
def one_moment() -> Iterator[None]:
    """Answers run inside share one read of the store's facts per site and reader (`context`): the cards of
    one dashboard view are one view at one moment. Facts a little older than the store's are safe: a day
    closed since is still in visits_open and in the build the facts name, a build or page list superseded
    since stays readable for minutes (collector/open_rollups.py), visitors stored since an older watermark are
    sessionised from raw rows, a page window written since is simply not used."""
    token = _moment.set({})
    try:
        yield
    finally:
        _moment.reset(token)


def context(store: Store, config: Config, q: Query, today: dt.date, admin: bool) -> Context:
    """What the builder needs to know about the store, read in one round: the closed days, the open days'
    watermark and build, the page windows and lists ready and, for a reader with k > 1, the site's cell key.
    Read once per view (`one_moment`), and kept for FACTS_TTL_S unless this process changed the store."""
    memo, key = _moment.get(), (q.site, admin, today, builder.pages(q), builder.listed(q))
    if memo is not None and key in memo:
        return memo[key]
    generation, now = store.generation, time.monotonic()
    # What the config gives the context is part of the key: a reloaded config is never answered with old facts.
    kept = ("facts", *key, suppress.threshold(config, q.site, admin), config.sites[q.site].retention_days)
    cached = store.memo.get(kept)
    if cached is not None and cached[0] == generation and now - cached[1] < FACTS_TTL_S:
        ctx: Context = cached[2]
    else:
        ctx = _context(store, config, q, today, admin)
        store.memo[kept] = (generation, now, ctx)
    if memo is not None:
        memo[key] = ctx
    return ctx


def _context(store: Store, config: Config, q: Query, today: dt.date, admin: bool) -> Context:
    policy = config.sites[q.site]
    k = suppress.threshold(config, q.site, admin)
    key = cellkey.KEY_SQL if k > 1 else "(0, 0)"
    # The page windows answer page lists only, the card lists single-dimension cards.
    ready = page_windows.READY_SQL if builder.pages(q) else "[]"
    lists = LISTS_SQL if builder.listed(q) else "[]"
    with store.beside_writer() as client:
        closed, mark, (k0, k1), windows, listed = client.query(
            f"SELECT {visits.CLOSED_SQL}, {visits_open.watermark_sql()}, {key}, {ready}, {lists}",
            parameters={"site": q.site}).result_rows[0]
    wm = visits_open.watermark_of(mark)
    last = closed[0] if closed[1] else None
    return Context(today, policy.retention_days, last, k, {"ck0": int(k0), "ck1": int(k1)} if k > 1 else None,
                   wm.watermark_ms if wm else None, wm.open_from if wm else None,
                   frozenset(int(days) for day, days in windows if day == last), wm.built_ms if wm else 0,
                   tuple((a, b, int(n)) for a, b, n in listed))


def run(store: Store, config: Config, q: Query, today: dt.date, admin: bool) -> dict[str, Any]:
    """The full answer to `q` for a reader (admin: unsuppressed)."""
    ctx = context(store, config, q, today, admin)
    rows, meta = _rows(store, q, ctx)
    if q.comparison:
        start, end = comparison_range(q)
        before, _ = _rows(store, q.shifted(start, end), ctx)
        _attach(q, rows, before)
        meta["comparison_date_range"] = [start.isoformat(), end.isoformat()]
    results = []
    for row in rows:
        item: dict[str, Any] = {"dimensions": [row[f"d{i}"] for i in range(len(q.dimensions))],
                                "metrics": [row.get(m) for m in q.metrics]}
        if "comparison" in row:
            item["comparison"] = row["comparison"]
        results.append(item)
    return {"results": results, "meta": meta, "query": echo(q)}


def _rows(store: Store, q: Query, ctx: Context) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    plan = builder.build(q, ctx)
    raw = execute(store, plan.sql, {**plan.params, "limit": q.limit, "offset": q.offset})
    rows, dropped = suppress.visible(raw, ctx.k, len(q.dimensions))
    for row in rows:
        if row.get("suppressed"):
            row.update(dict.fromkeys(q.metrics))
    meta: dict[str, Any] = {"small_cell_threshold": ctx.k,
                            "suppressed_rows": int(raw[0]["suppressed_rows"]) if raw else 0,
                            "sources": plan.sources}
    if dropped:
        meta["suppressed_other_row"] = True
    if q.total_rows:
        meta["total_rows"] = int(raw[0]["total_rows"]) - dropped if raw else 0
    if {"percentage", "conversion_rate"} & set(q.metrics):
        _shares(store, q, ctx, rows)
    if "scroll_depth" in q.metrics:
        _scroll(store, q, ctx, rows)
    return rows, meta


def _total_visitors(store: Store, q: Query, ctx: Context) -> int | None:
    plan = builder.build(q, ctx)
    rows, _ = suppress.visible(execute(store, plan.sql, {**plan.params, "limit": 1, "offset": 0}), ctx.k, 0)
    return None if not rows or rows[0].get("suppressed") else int(rows[0]["visitors"])


def _without_goals(filters: tuple[Any, ...]) -> tuple[Any, ...]:
    """The filters that do not mention a goal (the denominator of a conversion rate)."""
    goals = ("event:goal", "event:name")
    return tuple(f for f in filters if not any(c.dimension in goals for c in conditions((f,))))


def _shares(store: Store, q: Query, ctx: Context, rows: list[dict[str, Any]]) -> None:
    # The total comes from the same place as the rows: visits when the rows are visit attributes.
    from_visits = not q.event_dims and any(d.startswith("visit:") for d in q.dimensions + q.filter_dims)
    base = replace(q, metrics=("visitors", "visits") if from_visits else ("visitors",), dimensions=(), order_by=(),
                   comparison=None)
    total = _total_visitors(store, base, ctx) if "percentage" in q.metrics else None
    converting = replace(base, filters=_without_goals(q.filters),
                         dimensions=tuple(d for d in q.dimensions if d.startswith("time")))
    everyone = None
    if "conversion_rate" in q.metrics:
        everyone = _total_visitors(store, replace(converting, dimensions=()), ctx)
    for row in rows:
        visitors = row.get("visitors")
        if visitors is None:
            continue
        if total:
            row["percentage"] = round(100 * visitors / total, 2)
        if everyone:
            row["conversion_rate"] = round(100 * visitors / everyone, 2)


def _scroll(store: Store, q: Query, ctx: Context, rows: list[dict[str, Any]]) -> None:
    builder._check_raw(q.date_from, ctx)
    params: dict[str, Any] = {"site": q.site, "from0": q.date_from, "to0": q.date_to}
    source = sources.EVENTS_RAW
    dims = [f"{source.column(d, params, f'p_{i}')} AS d{i}" for i, d in enumerate(q.dimensions)]
    where = ["site = {site:String}", "toDate(ts) BETWEEN {from0:Date} AND {to0:Date}",
             "type IN ('engagement', 'session_end')"]
    where += [builder._filter_sql(f, source, params, f"f_{i}") for i, f in enumerate(q.filters)]
    keys = [f"d{i}" for i in range(len(q.dimensions))]
    sql = (f"SELECT {', '.join(keys + ['toInt64(round(avg(s))) AS scroll'])} FROM (SELECT "
           f"{', '.join(dims + ['max(scroll_pct) AS s'])} FROM analytics.events WHERE {' AND '.join(where)} "
           f"GROUP BY {', '.join(keys + ['visitor_id'])}){' GROUP BY ' + ', '.join(keys) if keys else ''}")
    depth = {tuple(r[k] for k in keys): r["scroll"] for r in execute(store, sql, params)}
    for row in rows:
        if not row.get("suppressed") and not row.get("is_other"):
            row["scroll_depth"] = depth.get(tuple(row[k] for k in keys))


def comparison_range(q: Query) -> tuple[dt.date, dt.date]:
    if q.comparison == "year_over_year":
        def back(d: dt.date) -> dt.date:
            return d.replace(year=d.year - 1, day=28 if (d.month, d.day) == (2, 29) else d.day)
        return back(q.date_from), back(q.date_to)
    days = (q.date_to - q.date_from).days + 1
    return q.date_from - dt.timedelta(days=days), q.date_from - dt.timedelta(days=1)


def _attach(q: Query, rows: list[dict[str, Any]], before: list[dict[str, Any]]) -> None:
    """Each row gets the matching row of the earlier period: by its non-time dimensions, and by position
    among the time buckets when there is a time dimension."""
    timed = [i for i, d in enumerate(q.dimensions) if d.startswith("time")]
    def key(row: dict[str, Any], index: int) -> tuple[Any, ...]:
        fixed = tuple(row[f"d{i}"] for i in range(len(q.dimensions)) if i not in timed)
        return (*fixed, index if timed else 0)
    def indexed(rs: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
        seen: dict[tuple[Any, ...], int] = {}
        out = {}
        for r in rs:
            base = key(r, 0)
            n = seen[base] = seen.get(base, -1) + 1
            out[key(r, n)] = r
        return out
    earlier = indexed(before)
    for k, row in indexed(rows).items():
        match = earlier.get(k)
        values = [match.get(m) if match else None for m in q.metrics]
        row["comparison"] = {"dimensions": [match[f"d{i}"] for i in range(len(q.dimensions))] if match else None,
                             "metrics": values,
                             "change": [_change(m, row.get(m), v) for m, v in zip(q.metrics, values, strict=True)]}


def _change(metric: str, now: Any, then: Any) -> float | int | None:
    if now is None or then is None:
        return None
    if metric in RATE_METRICS:
        return float(round(now - then, 2))
    return None if then == 0 else int(round(100 * (now - then) / then))


def echo(q: Query) -> dict[str, Any]:
    """The query as it was understood: relative dates resolved, `time` given its granularity."""
    def f(x: Any) -> Any:
        if isinstance(x, Condition):
            return [x.op, x.dimension, list(x.values), *([{"case_sensitive": False}] if not x.case_sensitive else [])]
        return [x.op, f(x.children[0])] if x.op == "not" else [x.op, [f(c) for c in x.children]]
    include: dict[str, Any] = {"total_rows": q.total_rows}
    if q.comparison:
        include["comparison"] = q.comparison
    return {"site_id": q.site, "metrics": list(q.metrics),
            "date_range": [q.date_from.isoformat(), q.date_to.isoformat()],
            "dimensions": list(q.dimensions), "filters": [f(x) for x in q.filters],
            "order_by": [list(o) for o in q.order_by], "include": include,
            "pagination": {"limit": q.limit, "offset": q.offset}}


def to_csv(answer: dict[str, Any]) -> str:
    """An answer as CSV: one column per dimension and metric, suppressed cells empty, cells a spreadsheet
    would evaluate neutralised (the one CSV writer, collector/read/csv_export.py)."""
    rows = ([*item["dimensions"], *item["metrics"]] for item in answer["results"])
    return csv_export.to_csv([*answer["query"]["dimensions"], *answer["query"]["metrics"]], rows).decode("utf-8-sig")
