"""POST /api/stats/query against an independent computation (tests/stats_reference.py) on a generated data
set: every metric and dimension family, filters, comparisons, ordering and pagination, from the rollups
and from the raw events; and the errors: 400 naming the field, 401 without a valid credential."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stats_reference as ref
from starlette.testclient import TestClient

from bench import generate
from collector import visits
from collector.app import create_app
from collector.settings import Settings

SITE = "bench.example"
CONFIG = f"""
[sites."{SITE}"]
domains = ["{SITE}"]
[sites."shop.example"]
domains = ["shop.example"]
[sites."docs.example"]
domains = ["docs.example"]
small_cell_threshold = 1

[users.reader]
role = "read"
password_sha256_hex = "{hashlib.sha256(b"reader-password").hexdigest()}"
[users.shopkeeper]
role = "read"
password_sha256_hex = "{hashlib.sha256(b"shop-password").hexdigest()}"
sites = ["shop.example"]
"""
ADMIN = {"authorization": "Bearer admin-token"}


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Stats:
    def __init__(self, client: TestClient, events: list[dict[str, Any]]) -> None:
        self.client = client
        self.events = events
        self.visits = ref.sessionise(events)
        self.today = dt.datetime.now(dt.UTC).date()

    def ask(self, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
        response = self.client.post("/api/stats/query", json={"site_id": SITE, "date_range": "30d", **body},
                                    headers=ADMIN if headers is None else headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def table(self, **body: Any) -> dict[tuple[str, ...], list[Any]]:
        return {tuple(r["dimensions"]): r["metrics"] for r in self.ask(**body)["results"]}

    def error(self, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        response = self.client.post("/api/stats/query", json=body, headers=ADMIN if headers is None else headers)
        return response.status_code, response.json()


@pytest.fixture(scope="module")
def stats(session_store: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stats]:
    store = session_store
    for (table,) in store.query("SELECT name FROM system.tables WHERE database = 'analytics' "
                                "AND engine LIKE '%MergeTree'"):
        store.command(f"TRUNCATE TABLE analytics.{table}")
    # ~100 visitors over 29 days: few enough that the compact sketches count exactly (up to about 120).
    store.command(f"{generate.INSERT} {generate.events_select(600)}")
    visits.close_due(store, time.time())  # days up to the day before yesterday come from the visit rollups
    tmp = tmp_path_factory.mktemp("stats")
    (tmp / "sites.toml").write_text(CONFIG)
    app = create_app(Settings(data_dir=tmp / "data", config_path=tmp / "sites.toml", admin_token="admin-token"),
                     store=store)
    with TestClient(app) as client:
        yield Stats(client, ref.load(store, SITE))


def days(stats: Stats, n: int = 30) -> tuple[dt.date, dt.date]:
    return stats.today - dt.timedelta(days=n - 1), stats.today


def test_totals_of_every_metric(stats: Stats) -> None:
    start, end = days(stats)
    events = ref.event_metrics(stats.events, start, end, lambda e: ())[()]
    visits_ = ref.visit_metrics(stats.visits, start, end, lambda v: ())[()]
    answer = stats.ask(metrics=["visitors", "pageviews", "events"])
    assert answer["results"][0]["metrics"] == [events["visitors"], events["pageviews"], events["events"]]
    session = ["visits", "bounce_rate", "visit_duration", "views_per_visit", "pageviews"]
    answer = stats.ask(metrics=session)
    assert answer["results"][0]["metrics"] == [visits_[m] for m in session]
    assert any(s.startswith("rollup:visits_daily") for s in answer["meta"]["sources"])
    assert any(s.startswith("raw:raw visits") for s in answer["meta"]["sources"])  # the open days


@pytest.mark.parametrize("dimension, key", [
    ("event:page", lambda e: e["path"]),
    ("time:day", lambda e: e["ts"].date().isoformat()),
    ("time:month", lambda e: e["ts"].date().replace(day=1).isoformat()),
])
def test_event_dimensions(stats: Stats, dimension: str, key: Any) -> None:
    start, end = days(stats)
    page_only = (lambda e: e["type"] in ("pageview", "engagement")) if dimension == "event:page" else (lambda e: True)
    expected = ref.event_metrics(stats.events, start, end, key, page_only)
    metrics = ["visitors", "pageviews"]
    got = stats.table(metrics=metrics, dimensions=[dimension])
    assert got == {(k,): [v[m] for m in metrics] for k, v in expected.items()}


@pytest.mark.parametrize("dimension, key", [
    ("visit:country", lambda v: v.attr("country")),
    ("visit:browser", lambda v: v.attr("browser")),
])
def test_event_metrics_by_visit_attributes_come_from_visits(stats: Stats, dimension: str, key: Any) -> None:
    start, end = days(stats)
    metrics = ["visitors", "pageviews", "events", "percentage"]
    expected = ref.visit_metrics(stats.visits, start, end, key)
    total = ref.visit_metrics(stats.visits, start, end, lambda v: ())[()]["visitors"]
    answer = stats.ask(metrics=metrics, dimensions=[dimension], date_range="12mo")  # the visit rollups hold years
    assert {tuple(r["dimensions"]): r["metrics"] for r in answer["results"]} == {
        (k,): [v["visitors"], v["pageviews"], v["events"], round(100 * v["visitors"] / total, 2)]
        for k, v in expected.items()}
    assert answer["meta"]["sources"][0].startswith("rollup:visit_")


def test_goals_and_their_properties(stats: Stats) -> None:
    start, end = days(stats)
    custom = lambda e: e["type"] == "custom"  # noqa: E731
    goals = ref.event_metrics(stats.events, start, end, lambda e: e["name"], custom)
    got = stats.table(metrics=["visitors", "events"], dimensions=["event:goal"])
    assert got == {(k,): [v["visitors"], v["events"]] for k, v in goals.items()}
    sources = stats.ask(metrics=["visitors"], dimensions=["event:goal"])["meta"]["sources"]
    assert sources[0].startswith("rollup:events_daily")
    plans = ref.event_metrics(stats.events, start, end, lambda e: e["props"].get("plan", ""),
                              lambda e: custom(e) and e["name"] == "signup")
    got = stats.table(metrics=["visitors", "events"], dimensions=["event:props:plan"],
                      filters=[["is", "event:goal", ["signup"]]])
    assert got == {(k,): [v["visitors"], v["events"]] for k, v in plans.items()}
    everyone = ref.event_metrics(stats.events, start, end, lambda e: ())[()]["visitors"]
    rates = stats.table(metrics=["visitors", "conversion_rate"], dimensions=["event:goal"])
    assert rates == {(k,): [v["visitors"], round(100 * v["visitors"] / everyone, 2)] for k, v in goals.items()}


@pytest.mark.parametrize("dimension, key", [
    ("visit:source", lambda v: v.source),
    ("visit:utm_campaign", lambda v: v.attr("utm_campaign")),
    ("visit:entry_page", lambda v: v.entry),
    ("visit:exit_page", lambda v: v.exit),
    ("visit:city", lambda v: v.attr("city")),
    ("visit:os_version", lambda v: v.attr("os_version")),
    ("time:week", lambda v: (v.day - dt.timedelta(days=v.day.weekday())).isoformat()),
])
def test_visit_dimensions(stats: Stats, dimension: str, key: Any) -> None:
    start, end = days(stats)
    metrics = ["visitors", "visits", "bounce_rate", "visit_duration", "views_per_visit"]
    expected = ref.visit_metrics(stats.visits, start, end, key)
    got = stats.table(metrics=metrics, dimensions=[dimension])
    assert got == {(k,): [v[m] for m in metrics] for k, v in expected.items()}


def test_filters_combine_with_and_or_not(stats: Stats) -> None:
    start, end = days(stats)
    filters = [["or", [["is", "visit:country", ["US", "DE"]], ["matches", "visit:source", ["^google"]]]],
               ["not", ["contains", "visit:entry_page", ["blog"]]], ["is_not", "visit:device", ["tablet"]]]

    def where(v: ref.Visit) -> bool:
        return ((v.attr("country") in ("US", "DE") or v.source.startswith("google")) and "blog" not in v.entry
                and v.attr("device") != "tablet")

    expected = ref.visit_metrics(stats.visits, start, end, lambda v: v.attr("browser"), where)
    got = stats.table(metrics=["visits", "bounce_rate"], dimensions=["visit:browser"], filters=filters)
    assert got == {(k,): [v["visits"], v["bounce_rate"]] for k, v in expected.items()}
    answer = stats.ask(metrics=["visits"], dimensions=["visit:browser"], filters=filters)
    assert answer["meta"]["sources"][0].startswith("raw:")  # no rollup has every column: raw, inside retention
    case = stats.table(metrics=["visitors"], dimensions=["event:page"],
                       filters=[["contains", "event:page", ["BLOG"], {"case_sensitive": False}]])
    assert case and all("blog" in k[0] for k in case)


def test_ordering_and_pagination(stats: Stats) -> None:
    body = {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"],
            "order_by": [["pageviews", "asc"], ["event:page", "desc"]], "include": {"total_rows": True}}
    full = stats.ask(**body)
    rows = [(r["metrics"][1], r["dimensions"][0]) for r in full["results"]]
    assert rows == sorted(rows, key=lambda r: (r[0], [-ord(c) for c in r[1]]))
    pages = [stats.ask(**body, pagination={"limit": 7, "offset": o})["results"] for o in range(0, len(rows), 7)]
    assert [r for page in pages for r in page] == full["results"]
    assert full["meta"]["total_rows"] == len(rows)


def test_comparison_with_the_previous_period_and_a_year_before(stats: Stats) -> None:
    start, end = days(stats, 7)
    before = start - dt.timedelta(days=7), start - dt.timedelta(days=1)
    answer = stats.ask(metrics=["visits", "bounce_rate"], date_range="7d",
                       include={"comparison": "previous_period"})
    now = ref.visit_metrics(stats.visits, start, end, lambda v: ())[()]
    then = ref.visit_metrics(stats.visits, *before, lambda v: ())[()]
    row = answer["results"][0]
    assert row["metrics"] == [now["visits"], now["bounce_rate"]]
    assert row["comparison"]["metrics"] == [then["visits"], then["bounce_rate"]]
    assert row["comparison"]["change"] == [round(100 * (now["visits"] - then["visits"]) / then["visits"]),
                                           now["bounce_rate"] - then["bounce_rate"]]
    yoy = stats.ask(metrics=["visitors"], date_range="7d", include={"comparison": "year_over_year"})
    assert yoy["meta"]["comparison_date_range"][0] == start.replace(year=start.year - 1).isoformat()


def test_comparison_rows_are_matched_by_dimension_across_pages(stats: Stats) -> None:
    start, end = days(stats, 14)
    before = ref.event_metrics(stats.events, start - dt.timedelta(days=14), start - dt.timedelta(days=1),
                               lambda e: e["path"], lambda e: e["type"] in ("pageview", "engagement"))
    answer = stats.ask(metrics=["visitors", "pageviews"], dimensions=["event:page"], date_range=[
        start.isoformat(), end.isoformat()], include={"comparison": "previous_period"},
        pagination={"limit": 5, "offset": 5})
    assert len(answer["results"]) == 5
    for row in answer["results"]:
        then = before.get(row["dimensions"][0])
        assert row["comparison"]["metrics"] == ([then["visitors"], then["pageviews"]] if then else [None, None])


def test_scroll_depth_and_percentage(stats: Stats) -> None:
    start, end = days(stats)
    got = stats.table(metrics=["visitors", "percentage", "scroll_depth"], dimensions=["event:page"])
    pages = ref.event_metrics(stats.events, start, end, lambda e: e["path"],
                              lambda e: e["type"] in ("pageview", "engagement"))
    total = ref.event_metrics(stats.events, start, end, lambda e: ())[()]["visitors"]
    depth: dict[str, dict[int, int]] = {}
    for e in stats.events:
        if e["type"] in ("engagement", "session_end") and start <= e["ts"].date() <= end:
            per = depth.setdefault(e["path"], {})
            per[e["visitor_id"]] = max(per.get(e["visitor_id"], 0), e["scroll_pct"])
    for (path,), (visitors, share, scroll) in got.items():
        assert visitors == pages[path]["visitors"] and share == round(100 * visitors / total, 2)
        assert scroll == (round(sum(depth[path].values()) / len(depth[path])) if path in depth else None)


def test_realtime_and_site_list(stats: Stats) -> None:
    since = dt.datetime.fromtimestamp(int(time.time()) - 300, dt.UTC).replace(tzinfo=None)
    expected = len({e["visitor_id"] for e in stats.events if e["ts"] >= since})
    answer = stats.client.get(f"/api/stats/realtime?site_id={SITE}", headers=ADMIN).json()
    assert answer["visitors"] == expected and answer["meta"]["window_s"] == 300
    sites = stats.client.get("/api/stats/sites", headers=basic("shopkeeper", "shop-password")).json()["sites"]
    first = min(e["ts"].date() for e in ref.load(stats.client.app.state.collector.store, "shop.example"))
    assert sites == [{"site_id": "shop.example", "first_event": first.isoformat()}]


@pytest.mark.parametrize("body, detail", [
    ({"metrics": ["visitors"], "date_range": "30d"}, "site_id: required field is missing"),
    ({"site_id": SITE, "metrics": ["visitorz"], "date_range": "30d"}, "metrics[0]: violates 'enum'"),
    ({"site_id": SITE, "metrics": ["visitors"], "date_range": "3d"}, "date_range: violates 'oneOf'"),
    ({"site_id": SITE, "metrics": ["visitors"], "date_range": ["2026-02-30", "2026-03-01"]},
     "date_range: not a calendar"),
    ({"site_id": SITE, "metrics": ["visitors"], "date_range": "7d", "dimensions": ["visit:shoe_size"]},
     "dimensions[0]: violates 'pattern'"),
    ({"site_id": SITE, "metrics": ["bounce_rate"], "date_range": "7d", "dimensions": ["event:page"]},
     "metrics: session metric(s) bounce_rate cannot be combined"),
    ({"site_id": SITE, "metrics": ["visitors"], "date_range": "7d", "order_by": [["visits", "desc"]]},
     "order_by[0][0]: must be one of"),
    ({"site_id": SITE, "metrics": ["visitors"], "date_range": "7d", "filters": [["matches", "event:page", ["("]]]},
     "filters: a matches pattern is not a valid regular expression"),
    ({"site_id": "nope.example", "metrics": ["visitors"], "date_range": "7d"}, "site_id: not a site you can read"),
    ({"site_id": SITE, "metrics": ["visitors"], "date_range": "7d", "surprise": 1}, "query: unknown field(s) surprise"),
    ([1, 2], "query: violates 'type'"),
])
def test_bad_requests_are_400s_naming_the_field(stats: Stats, body: Any, detail: str) -> None:
    status, answer = stats.error(body)
    assert status == 400 and answer["detail"].startswith(detail), answer


def test_a_query_needing_expired_raw_events_is_a_400(stats: Stats) -> None:
    status, answer = stats.error({"site_id": SITE, "metrics": ["visitors"], "date_range": "12mo",
                                  "dimensions": ["event:props:plan"]})
    assert status == 400 and answer["error"] == "raw_expired" and "30 days" in answer["detail"]
    ok = stats.ask(metrics=["visitors", "visits"], date_range="12mo")  # the rollups answer long ranges
    assert ok["results"][0]["metrics"][1] > 0


def test_credentials(stats: Stats) -> None:
    body = {"site_id": SITE, "metrics": ["visitors"], "date_range": "7d"}
    assert stats.error(body, headers={})[0] == 401
    assert stats.error(body, headers=basic("reader", "wrong"))[0] == 401
    assert stats.error(body, headers={"authorization": "Bearer wrong"})[0] == 401
    assert stats.error(body, headers=basic("nobody", "reader-password"))[0] == 401
    assert stats.error(body, headers=basic("reader", "reader-password"))[0] == 200
    # A user limited to other sites gets the same answer as for a site that does not exist.
    assert stats.error(body, headers=basic("shopkeeper", "shop-password")) == (
        400, {"error": "invalid_query", "detail": "site_id: not a site you can read"})


def test_the_schema_file_ships_with_the_package() -> None:
    from collector.read import query
    assert Path(query.SCHEMA_PATH).is_file() and query.SCHEMA_PATH.parent.name == "schemas"
