"""A stats request, validated once into a typed `Query` (Plausible Stats API v2 keys).

`parse` checks the body against schemas/stats_query.schema.json, then the rules a schema cannot state
(a site the reader may read, session metrics only with visit dimensions, dates in order), and resolves
relative date ranges against the injected clock. Every refusal is a 400 naming the field and the rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import orjson

from ..errors import ClientError, Kind
from ..settings import SCHEMAS_DIR

SCHEMA_PATH = SCHEMAS_DIR / "stats_query.schema.json"
SESSION_METRICS = frozenset({"visits", "bounce_rate", "views_per_visit", "visit_duration"})
TIME_DIMENSIONS = ("time:hour", "time:day", "time:week", "time:month")
RELATIVE = ("day", "7d", "30d", "month", "6mo", "12mo", "year", "all")
MAX_DAYS = 3 * 366 + 31  # a range longer than the rollups are kept answers nothing more


@dataclass(frozen=True, slots=True)
class Condition:
    """`[op, dimension, values]`: is, is_not, contains, contains_not, matches, matches_not."""

    op: str
    dimension: str
    values: tuple[str, ...]
    case_sensitive: bool = True


@dataclass(frozen=True, slots=True)
class Logic:
    """`["and"|"or", [filters]]` or `["not", filter]`."""

    op: str
    children: tuple[Filter, ...]


Filter = Condition | Logic


@dataclass(frozen=True, slots=True)
class Query:
    site: str
    metrics: tuple[str, ...]
    date_from: dt.date
    date_to: dt.date
    dimensions: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    order_by: tuple[tuple[str, str], ...] = ()
    limit: int = 10_000
    offset: int = 0
    comparison: str | None = None
    total_rows: bool = False

    @property
    def session(self) -> bool:
        """Answered from visits: a session metric, or visit dimensions and filters without event ones (as in
        Plausible, `visit:*` are attributes of the visit; next to `event:*` ones, location and device are read
        from each event)."""
        dims = self.dimensions + self.filter_dims
        if SESSION_METRICS & set(self.metrics):
            return True
        return not self.event_dims and any(d.startswith("visit:") for d in dims)

    @property
    def event_dims(self) -> tuple[str, ...]:
        return tuple(d for d in self.dimensions + self.filter_dims if d.startswith("event:"))

    @property
    def filter_dims(self) -> tuple[str, ...]:
        return tuple(c.dimension for c in conditions(self.filters))

    def shifted(self, date_from: dt.date, date_to: dt.date) -> Query:
        """The same query over another period, every row (its rows are matched to this query's page)."""
        return Query(self.site, self.metrics, date_from, date_to, self.dimensions, self.filters, self.order_by,
                     10_000, 0, None, self.total_rows)


# Visit attributes every event carries too (location and device), so event metrics can use them.
EVENT_VISIT_DIMENSIONS = frozenset({"visit:country", "visit:region", "visit:city", "visit:device", "visit:browser",
                                    "visit:browser_version", "visit:os", "visit:os_version"})


def conditions(filters: tuple[Filter, ...]) -> list[Condition]:
    out: list[Condition] = []
    for f in filters:
        out += [f] if isinstance(f, Condition) else conditions(f.children)
    return out


def bad(field: str, rule: str) -> ClientError:
    return ClientError(Kind.INVALID, "invalid_query", f"{field}: {rule}")


_validator = jsonschema_rs.validator_for(orjson.loads(SCHEMA_PATH.read_bytes()))


def _schema_error(body: Any) -> ClientError | None:
    error: Any
    for error in _validator.iter_errors(body):
        where = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in error.instance_path).lstrip(".")
        kind = type(error.kind).__name__
        if kind == "Required":
            return bad(error.kind.property, "required field is missing")
        if kind == "AdditionalProperties":
            return bad(where or "query", f"unknown field(s) {', '.join(sorted(error.kind.unexpected))}")
        return bad(where or "query", f"violates '{list(error.schema_path)[-1]}'")
    return None


def validate(body: Any) -> None:
    """Raise the 400 for the first way `body` breaks the request schema."""
    error = _schema_error(body)
    if error is not None:
        raise error


def parse(body: Any, today: dt.date, first_day: dt.date | None = None) -> Query:
    """The request body as a Query; `today` resolves relative ranges, `first_day` is the site's first event."""
    validate(body)
    metrics = tuple(body["metrics"])
    dims = tuple(body.get("dimensions", []))
    start, end = date_range(body["date_range"], today, first_day)
    if "time" in dims:
        dims = tuple(_granularity(start, end) if d == "time" else d for d in dims)
    filters = tuple(_filter(f, f"filters[{i}]") for i, f in enumerate(body.get("filters", [])))
    include = body.get("include", {})
    page = body.get("pagination", {})
    query = Query(body["site_id"], metrics, start, end, dims, filters,
                  tuple((k, d) for k, d in body.get("order_by", [])), page.get("limit", 10_000),
                  page.get("offset", 0), include.get("comparison"), bool(include.get("total_rows")))
    _check(query)
    return query


def date_range(value: Any, today: dt.date, first_day: dt.date | None) -> tuple[dt.date, dt.date]:
    if isinstance(value, list):
        try:
            start, end = dt.date.fromisoformat(value[0]), dt.date.fromisoformat(value[1])
        except ValueError:
            raise bad("date_range", "not a calendar date (YYYY-MM-DD)") from None
        if start > end:
            raise bad("date_range", "the first date is after the second")
        if (end - start).days > MAX_DAYS:
            raise bad("date_range", f"at most {MAX_DAYS} days")
        return start, end
    months = {"6mo": 6, "12mo": 12}
    if value in months:
        first = today.replace(day=1)
        for _ in range(months[value] - 1):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        return first, today
    starts = {"day": today, "7d": today - dt.timedelta(days=6), "30d": today - dt.timedelta(days=29),
              "month": today.replace(day=1), "year": today.replace(month=1, day=1),
              "all": max(first_day or today, today - dt.timedelta(days=MAX_DAYS))}
    if not isinstance(value, str) or value not in starts:  # the API's schema refuses it first; other callers not
        raise bad("date_range", f"must be one of {', '.join([*starts, *months])} or two dates")
    return starts[value], today


def _granularity(start: dt.date, end: dt.date) -> str:
    days = (end - start).days + 1
    return "time:hour" if days == 1 else "time:day" if days <= 93 else "time:month"


def _filter(raw: list[Any], where: str) -> Filter:
    if raw[0] in ("and", "or"):
        return Logic(raw[0], tuple(_filter(f, f"{where}[1][{i}]") for i, f in enumerate(raw[1])))
    if raw[0] == "not":
        return Logic("not", (_filter(raw[1], f"{where}[1]"),))
    modifiers = raw[3] if len(raw) > 3 else {}
    if set(modifiers) - {"case_sensitive"} or not isinstance(modifiers.get("case_sensitive", True), bool):
        raise bad(f"{where}[3]", "the only modifier is case_sensitive (true or false)")
    if raw[1].startswith("time"):
        raise bad(f"{where}[1]", "filter time with date_range")
    return Condition(raw[0], raw[1], tuple(raw[2]), modifiers.get("case_sensitive", True))


def _check(q: Query) -> None:
    event_dims = q.event_dims
    session = sorted(SESSION_METRICS & set(q.metrics))
    if session and event_dims:
        raise bad("metrics", f"session metric(s) {', '.join(session)} cannot be combined with event "
                  f"dimension or filter {event_dims[0]}")
    visit_only = [d for d in q.dimensions + q.filter_dims if d.startswith("visit:") and d not in EVENT_VISIT_DIMENSIONS]
    if visit_only and event_dims:
        raise bad("dimensions", f"{event_dims[0]} cannot be combined with {visit_only[0]}: only visits have it "
                  "(source, referrer, utm_*, entry and exit page)")
    if "conversion_rate" in q.metrics and not any(d in ("event:goal", "event:name")
                                                   for d in q.dimensions + q.filter_dims):
        raise bad("metrics", "conversion_rate needs an event:goal dimension or filter")
    scroll_dims = set(q.dimensions + q.filter_dims) - {"event:page", *TIME_DIMENSIONS}
    if "scroll_depth" in q.metrics and (q.session or scroll_dims):
        raise bad("metrics", "scroll_depth is available with event:page and time dimensions only")
    if len([d for d in q.dimensions if d.startswith("time")]) > 1:
        raise bad("dimensions", "at most one time dimension")
    known = set(q.metrics) | set(q.dimensions)
    for i, (key, _) in enumerate(q.order_by):
        if key not in known:
            raise bad(f"order_by[{i}][0]", "must be one of the query's metrics or dimensions")
        if key == "scroll_depth":
            raise bad(f"order_by[{i}][0]", "scroll_depth cannot be ordered by")
