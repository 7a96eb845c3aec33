"""Small-cell suppression with k = 5: 4 visitors from one city, 50 from another (and, on a second site, 6
from a third). No non-admin read path — the stats API, the read role's views, CSV, heatmap cells — names
the small city; the reader's counts carry the cell-key noise (at most cellkey.MAX_NOISE either way, the same
on every path); the admin sees everything, exactly. tests/test_differencing.py plays the attacks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import TEST_CONFIG
from live import wait_for
from starlette.testclient import TestClient

from collector import visits
from collector.app import create_app
from collector.read import answer, catalog, cellkey, suppress
from collector.settings import Settings

READER = {"authorization": "Basic " + base64.b64encode(b"reader:pw").decode()}
ADMIN = {"authorization": "Bearer admin-token"}
DAY = (dt.datetime.now(dt.UTC) - dt.timedelta(days=5)).date()
RANGE = [DAY.isoformat(), DAY.isoformat()]
# site -> [(city, visitors)]
CITIES = {"test.example": [("Big City", 50), ("Small Town", 4)],
          "strict.example": [("Big City", 50), ("Small Town", 4), ("Mid Town", 6)]}


def insert_visitors(store: Any) -> None:
    rows, vid = [], 1
    start = int(dt.datetime.combine(DAY, dt.time(12), dt.UTC).timestamp())
    for site, cities in CITIES.items():
        for city, n in cities:
            for _ in range(n):
                # One pageview and one heatmap click each: the small town's visitors click one cell, the others
                # another.
                cell = (0.05, 0.02) if city == "Small Town" else (0.5, 0.5)
                for offset, kind in ((0, "pageview"), (10, "click")):
                    rows.append((site, start + vid + offset, kind, "heatmap" if kind == "click" else "", "/", "GB",
                                 city, vid, *(cell if kind == "click" else (0.0, 0.0)), 1280, 30, 400))
                vid += 1
    store.client.insert("analytics.events", rows, column_names=[
        "site", "ts", "type", "name", "path", "country", "city", "visitor_id", "x", "y", "viewport_width",
        "retention_days", "rollup_retention_days"])


@pytest.fixture(scope="module")
def client(session_store: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = session_store
    for (table,) in store.query("SELECT name FROM system.tables WHERE database = 'analytics' "
                                "AND engine LIKE '%MergeTree'"):
        store.command(f"TRUNCATE TABLE analytics.{table}")
    insert_visitors(store)
    visits.close_due(store, time.time())
    tmp = tmp_path_factory.mktemp("suppress")
    (tmp / "sites.toml").write_text(TEST_CONFIG + f'[users.reader]\nrole = "read"\n'
                                    f'password_sha256_hex = "{hashlib.sha256(b"pw").hexdigest()}"\n')
    app = create_app(Settings(data_dir=tmp / "data", config_path=tmp / "sites.toml", admin_token="admin-token"),
                     store=store)
    with TestClient(app) as c:
        yield c


def ask(client: TestClient, site: str, headers: dict[str, str] = READER, **body: Any) -> dict[str, Any]:
    response = client.post("/api/stats/query", headers=headers,
                           json={"site_id": site, "date_range": RANGE, "metrics": ["visitors"], **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def shown(result: dict[str, Any]) -> dict[str, int]:
    return {r["dimensions"][0]: r["metrics"][0] for r in result["results"]}


def near(got: Any, exact: int) -> bool:
    """`got` is what a reader may be shown for the exact count `exact`."""
    return isinstance(got, int) and abs(got - exact) <= cellkey.MAX_NOISE


def near_all(got: dict[str, int], exact: dict[str, int]) -> bool:
    return got.keys() == exact.keys() and all(near(got[key], n) for key, n in exact.items())


@pytest.mark.parametrize("metrics", [["visitors"], ["visitors", "visits", "bounce_rate"]])
def test_the_stats_api_never_shows_or_implies_the_small_city(client: TestClient, metrics: list[str]) -> None:
    # Event metrics (raw events) and session metrics (visit rollups) alike.
    total = ask(client, "test.example", metrics=metrics)["results"][0]["metrics"][0]
    assert near(total, 54)
    two = ask(client, "test.example", metrics=metrics, dimensions=["visit:city"])
    # With two cities, the small one's 4 visitors would be the total minus the big one: the big one folds too.
    assert near_all(shown(two), {"(other)": 54}) and two["meta"]["suppressed_rows"] == 2
    assert two["meta"]["small_cell_threshold"] == 5
    three = ask(client, "strict.example", metrics=metrics, dimensions=["visit:city"], include={"total_rows": True})
    # With a third city, the small one folds with the next smallest: the big city is shown by name.
    assert near_all(shown(three), {"Big City": 50, "(other)": 10}) and three["meta"]["suppressed_rows"] == 2
    assert "Small Town" not in str(two) + str(three)
    # The same count is the same figure wherever it is shown: the total of the first site, its (other).
    assert shown(two)["(other)"] == total
    admin = ask(client, "strict.example", headers=ADMIN, metrics=metrics, dimensions=["visit:city"])
    assert shown(admin) == {"Big City": 50, "Mid Town": 6, "Small Town": 4}


def test_other_is_withheld_when_itself_below_k(client: TestClient) -> None:
    # Filtered to the small town alone: one row of 4 visitors, and nothing to pair it with.
    result = ask(client, "test.example", dimensions=["visit:city"], filters=[["is", "visit:city", ["Small Town"]]])
    assert result["results"] == [] and result["meta"]["suppressed_other_row"] is True
    totals = ask(client, "test.example", filters=[["is", "visit:city", ["Small Town"]]])
    assert totals["results"] == [{"dimensions": [], "metrics": [None]}]
    assert ask(client, "test.example", headers=ADMIN, filters=[["is", "visit:city", ["Small Town"]]])[
        "results"][0]["metrics"] == [4]


def test_the_read_roles_views_fold_the_same_way(client: TestClient) -> None:
    store = client.app.state.collector.store  # type: ignore[attr-defined]
    assert {"analytics.read_visits", "analytics.read_pages", "analytics.read_goals",
            "analytics.read_heatmap"} <= catalog.READ_OBJECTS
    rows = {site: store.query("SELECT value, visitors FROM analytics.read_visits(site = {s:String}, from = {d:Date}, "
                              "to = {d:Date}, dimension = 'city')", {"s": site, "d": DAY}) for site in CITIES}
    api = {site: shown(ask(client, site, dimensions=["visit:city"])) for site in CITIES}
    # The views and the stats API release the same perturbed figures.
    assert dict(rows["test.example"]) == api["test.example"] and near_all(api["test.example"], {"(other)": 54})
    assert dict(rows["strict.example"]) == api["strict.example"]
    assert near_all(api["strict.example"], {"Big City": 50, "(other)": 10})


def test_csv_export_inherits_the_suppression(client: TestClient) -> None:
    result = ask(client, "strict.example", metrics=["visitors", "pageviews"], dimensions=["visit:city"])
    text = answer.to_csv(result)
    big, other = shown(result)["Big City"], shown(result)["(other)"]
    assert near(big, 50) and near(other, 10)
    # Visitors and pageviews of one row are counted apart, each with its own noise.
    lines = text.splitlines()
    assert lines[0] == "visit:city,visitors,pageviews" and [line.split(",")[0] for line in lines[1:]] == [
        "Big City", "(other)"]
    assert lines[1].startswith(f"Big City,{big},") and near(int(lines[1].split(",")[2]), 50)


def test_heatmap_cells_fold_below_k(client: TestClient) -> None:
    def cells(site: str, headers: dict[str, str]) -> dict[str, Any]:
        return client.get("/api/stats/heatmap", headers=headers, params={
            "site_id": site, "page": "/", "width": "1200", "from": DAY.isoformat(), "to": DAY.isoformat()}).json()

    # Two cells (4 and 60 visitors): the small one cannot be hidden alone next to the page's click total.
    strict = cells("strict.example", READER)
    assert strict["cells"] == [] and near_all(strict["other"], {"clicks": 60, "visitors": 60})
    two = cells("test.example", READER)
    assert two["cells"] == [] and near_all(two["other"], {"clicks": 54, "visitors": 54})
    admin = cells("test.example", ADMIN)
    assert sorted((c["x"], c["y"], c["visitors"]) for c in admin["cells"]) == [(0.05, 0.0, 4), (0.5, 0.5, 50)]


def test_the_published_threshold_is_the_sites(client: TestClient) -> None:
    store = client.app.state.collector.store  # type: ignore[attr-defined]
    config = client.app.state.collector.config  # type: ignore[attr-defined]
    wait_for(lambda: store.query("SELECT uniqExact(site) FROM analytics.site_privacy")[0][0] == len(config.sites),
             30, "the published thresholds")
    k = dict(store.query("SELECT site, argMax(small_cell_threshold, updated_at) FROM analytics.site_privacy "
                         "GROUP BY site"))
    assert k == {site: policy.small_cell_threshold for site, policy in config.sites.items()}
    assert suppress.threshold(config, "test.example", admin=True) == 0


def test_heatmap_refuses_an_unknown_period_with_a_400(client: TestClient) -> None:
    answer = client.get("/api/stats/heatmap", headers=READER, params={"site_id": "test.example", "date_range": "2y"})
    assert answer.status_code == 400 and "date_range" in answer.text


def test_the_answer_csv_neutralises_formula_cells() -> None:
    result = {"query": {"dimensions": ["event:page"], "metrics": ["visitors"]},
              "results": [{"dimensions": ["=HYPERLINK(1)"], "metrics": [7]}, {"dimensions": ["/a"], "metrics": [None]}]}
    assert answer.to_csv(result).splitlines() == ["event:page,visitors", "'=HYPERLINK(1),7", "/a,"]
