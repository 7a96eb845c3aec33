"""An independent computation of the stats API's numbers: raw events read back from the engine with plain
SELECTs, visits and metrics computed here in Python (no SQL of the builder or the sessioniser is reused)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COLUMNS = ("ts", "type", "name", "path", "referrer_host", "utm_source", "utm_medium", "utm_campaign", "country",
           "region", "city", "device", "browser", "browser_version", "os", "os_version", "visitor_id", "scroll_pct",
           "props")
FIRST = ("referrer_host", "utm_source", "utm_medium", "utm_campaign", "country", "region", "city", "device",
         "browser", "browser_version", "os", "os_version")
DIRECT = "Direct / None"


@dataclass
class Visit:
    visitor_id: int
    start: dt.datetime
    events: list[dict[str, Any]]

    @property
    def day(self) -> dt.date:
        return self.start.date()

    @property
    def pageviews(self) -> int:
        return sum(e["type"] == "pageview" for e in self.events)

    @property
    def bounce(self) -> bool:
        return self.pageviews == 1 and not any(e["type"] in ("click", "custom", "form") for e in self.events)

    @property
    def duration(self) -> int:
        return int((self.events[-1]["ts"] - self.start).total_seconds())

    def attr(self, name: str) -> str:
        first = min(self.events, key=lambda e: (e["ts"], e["type"] != "pageview", *(e[c] for c in FIRST)))
        return str(first[name])

    @property
    def entry(self) -> str:
        views = [e for e in self.events if e["type"] == "pageview"] or self.events
        return str(min((e["ts"], e["path"]) for e in views)[1])

    @property
    def exit(self) -> str:
        views = [e for e in self.events if e["type"] == "pageview"] or self.events
        return str(max((e["ts"], e["path"]) for e in views)[1])

    @property
    def source(self) -> str:
        utm, ref = self.attr("utm_source"), self.attr("referrer_host")
        return utm or ref or DIRECT


def load(store: Any, site: str) -> list[dict[str, Any]]:
    rows = store.query(f"SELECT {', '.join(COLUMNS)} FROM analytics.events WHERE site = {{s:String}}", {"s": site})
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def sessionise(events: list[dict[str, Any]]) -> list[Visit]:
    by_visitor: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_visitor[e["visitor_id"]].append(e)
    out: list[Visit] = []
    for vid, items in by_visitor.items():
        items.sort(key=lambda e: e["ts"])
        current: list[dict[str, Any]] = []
        for e in items:
            if current and (e["ts"] - current[-1]["ts"]).total_seconds() > 1800:
                out.append(Visit(vid, current[0]["ts"], current))
                current = []
            current.append(e)
        out.append(Visit(vid, current[0]["ts"], current))
    return out


def event_metrics(events: list[dict[str, Any]], start: dt.date, end: dt.date, key: Callable[[dict[str, Any]], Any],
                  where: Callable[[dict[str, Any]], bool] = lambda e: True) -> dict[Any, dict[str, int]]:
    groups: dict[Any, dict[str, Any]] = defaultdict(lambda: {"visitors": set(), "pageviews": 0, "events": 0})
    for e in events:
        if start <= e["ts"].date() <= end and where(e):
            g = groups[key(e)]
            g["visitors"].add(e["visitor_id"])
            g["pageviews"] += e["type"] == "pageview"
            g["events"] += 1
    return {k: {**v, "visitors": len(v["visitors"])} for k, v in groups.items()}


def visit_metrics(visits: list[Visit], start: dt.date, end: dt.date, key: Callable[[Visit], Any],
                  where: Callable[[Visit], bool] = lambda v: True) -> dict[Any, dict[str, Any]]:
    groups: dict[Any, list[Visit]] = defaultdict(list)
    for v in visits:
        if start <= v.day <= end and where(v):
            groups[key(v)].append(v)
    out = {}
    for k, vs in groups.items():
        n = len(vs)
        out[k] = {"visitors": len({v.visitor_id for v in vs}), "visits": n,
                  "pageviews": sum(v.pageviews for v in vs), "events": sum(len(v.events) for v in vs),
                  "bounce_rate": round(100 * sum(v.bounce for v in vs) / n),
                  "visit_duration": round(sum(v.duration for v in vs) / n),
                  "views_per_visit": round(sum(v.pageviews for v in vs) / n, 2)}
    return out
