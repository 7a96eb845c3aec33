"""The dashboard cards the stats API has no dimension for, answered by the read side's own dashboard queries
(schemas/dashboards/NN_name.sql, run as written with their parameters) and shaped like a stats API answer:

- `vitals`: 17_web_vitals.sql, the p75 of one web vital per page;
- `tiers`: 18_consent_tiers.sql, visitors and events per consent tier;
- `dropped`: 20_dropped_events.sql, events not stored, per reason (summed over the period's days).

Small cells: those queries are written for the analyst role (unsuppressed), so for a `read` user this module
keeps the rule every read path keeps. The tiers card shows its rows only when every tier has at least k
visitors (one small tier would be the headline's visitors minus the other); the vitals rollup holds no
visitor count to check k against, so a `read` user sees vitals only on a site whose k is 1 (the demo). The
dropped-events card counts events the collector refused, never visitors, and is shown to every reader.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from ..settings import SCHEMAS_DIR
from . import answer, cellkey, query, stats, suppress
from .users import User

DASHBOARDS = SCHEMAS_DIR / "dashboards"
FILES = {"vitals": "17_web_vitals.sql", "tiers": "18_consent_tiers.sql", "dropped": "20_dropped_events.sql"}
VITALS = ("LCP", "INP", "CLS", "FCP", "TTFB")
DATE_RANGES = ("day", "7d", "30d", "month", "6mo", "12mo", "year", "all")


def _sql(name: str) -> str:
    return (DASHBOARDS / FILES[name]).read_text(encoding="utf-8")


def date_range(raw: str, today: dt.date, first: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period of a `date_range` query parameter: a stats API name, or `[from, to]` as JSON; else a 400."""
    if raw.startswith("["):
        try:
            days = orjson.loads(raw)
        except orjson.JSONDecodeError:
            days = None
        if not (isinstance(days, list) and len(days) == 2 and all(isinstance(d, str) for d in days)):
            raise query.bad("date_range", "[from, to] as two ISO dates")
        return query.date_range(days, today, first)
    if raw not in DATE_RANGES:
        raise query.bad("date_range", f"one of {', '.join(DATE_RANGES)}, or [from, to]")
    return query.date_range(raw, today, first)


def card(collector: Any, user: User, name: str, site: str, raw_range: str, sub: str) -> dict[str, Any]:
    """A stats-shaped answer ({"results", "query": {"metrics"}, "meta"}) for card `name` of `site`."""
    today = dt.datetime.fromtimestamp(collector.clock(), dt.UTC).date()
    start, end = date_range(raw_range, today, stats.first_day(collector.store, site))
    k = suppress.threshold(collector.config, site, user.is_admin)
    rows = answer.execute(collector.store, _sql(name), {"site": site, "from": start, "to": end})
    meta: dict[str, Any] = {"small_cell_threshold": k, "suppressed_rows": 0, "date_range": [str(start), str(end)],
                            "source": f"schemas/dashboards/{FILES[name]}"}
    if name == "vitals":
        if sub not in VITALS:
            raise query.bad("name", f"one of {', '.join(VITALS)}")
        metrics = ["p75", "samples"]
        results = [([r["path"]], [r["p75"], r["samples"]]) for r in rows if r["name"] == sub]
        if k > 1:
            meta["suppressed_rows"], results = len(results), []
            meta["note"] = "web vitals carry no visitor count to check the small-cell threshold against"
    elif name == "tiers":
        metrics = ["visitors", "visitor_share", "events"]
        visitors = cellkey.perturb(collector.store, site, k, [r["visitors"] for r in rows])
        events = cellkey.perturb(collector.store, site, k, [r["events"] for r in rows])
        everyone = sum(visitors) or 1
        shares = [r["visitor_share"] if k <= 1 else round(100 * v / everyone, 2)
                  for r, v in zip(rows, visitors, strict=True)]
        results = [([r["tier"]], [v, s, e]) for r, v, s, e in zip(rows, visitors, shares, events, strict=True)]
        if not all(cellkey.released(r["visitors"], v, k) for r, v in zip(rows, visitors, strict=True)):
            meta["suppressed_rows"], results = len(results), []
    else:
        metrics = ["events"]
        totals: dict[str, int] = {}
        for r in rows:
            totals[r["reason"]] = totals.get(r["reason"], 0) + int(r["events"])
        results = [([reason], [n]) for reason, n in sorted(totals.items(), key=lambda kv: -kv[1])]
    return {"results": [{"dimensions": d, "metrics": m} for d, m in results],
            "query": {"site_id": site, "metrics": metrics, "date_range": [str(start), str(end)]}, "meta": meta}

