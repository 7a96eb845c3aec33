"""Every file in schemas/dashboards/ runs with its parameters on a generated data set, and its numbers agree
with the stats API (read by a `read` user: both suppressed) or, where the API has no counterpart, with an
independent computation on the raw events."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from bench import generate
from collector import visits
from collector.app import create_app
from collector.settings import SCHEMAS_DIR, Settings

SITE = "bench.example"
DASHBOARDS = sorted((SCHEMAS_DIR / "dashboards").glob("*.sql"))
CONFIG = f"""
[sites."{SITE}"]
domains = ["{SITE}"]
[users.reader]
role = "read"
password_sha256_hex = "{hashlib.sha256(b"pw").hexdigest()}"
"""
READER = {"authorization": "Basic " + base64.b64encode(b"reader:pw").decode()}
PARAM = re.compile(r"\{(\w+):([^}]+)\}")


class Board:
    def __init__(self, store: Any, client: TestClient) -> None:
        self.store, self.client = store, client
        self.today = dt.datetime.now(dt.UTC).date()
        self.start = self.today - dt.timedelta(days=29)
        page, width = store.query(
            "SELECT path, width FROM analytics.heatmap_daily WHERE site = {s:String} GROUP BY path, width "
            "ORDER BY sum(clicks) DESC, path LIMIT 1", {"s": SITE})[0]
        self.params: dict[str, Any] = {"site": SITE, "from": self.start, "to": self.today, "utm": "utm_campaign",
                                       "goal": "signup", "steps": ["/", "/blog/0-post", "/docs/0-post"],
                                       "page": page, "width": width}

    def run(self, name: str) -> list[tuple[Any, ...]]:
        sql = next(p for p in DASHBOARDS if p.name.startswith(name)).read_text()
        return self.store.query(sql, {k: v for k, v in self.params.items() if "{" + k + ":" in sql})

    def api(self, headers: dict[str, str] = READER, **body: Any) -> list[tuple[Any, ...]]:
        response = self.client.post("/api/stats/query", headers=headers, json={
            "site_id": SITE, "date_range": [self.start.isoformat(), self.today.isoformat()], **body})
        assert response.status_code == 200, response.text
        return [(*r["dimensions"], *r["metrics"]) for r in response.json()["results"]]


@pytest.fixture(scope="module")
def board(session_store: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    store = session_store
    for (table,) in store.query("SELECT name FROM system.tables WHERE database = 'analytics' "
                                "AND engine LIKE '%MergeTree'"):
        store.command(f"TRUNCATE TABLE analytics.{table}")
    store.command(f"{generate.INSERT} {generate.events_select(5000)}")
    store.command("INSERT INTO analytics.dropped_daily VALUES ({s:String}, today(), 'bot', 7, 400), "
                  "({s:String}, today(), 'consent_denied', 3, 400)".replace("{s:String}", f"'{SITE}'"))
    visits.close_due(store, time.time() + 3 * 86400)  # every day closed: views and API read the same rollups
    tmp = tmp_path_factory.mktemp("dash")
    (tmp / "sites.toml").write_text(CONFIG)
    app = create_app(Settings(data_dir=tmp / "data", config_path=tmp / "sites.toml", admin_token="t"), store=store)
    with TestClient(app) as client:
        yield Board(store, client)


def test_every_file_has_one_query_and_a_header_naming_its_parameters() -> None:
    assert len(DASHBOARDS) == 21
    for path in DASHBOARDS:
        text = path.read_text()
        header = "".join(line for line in text.splitlines(True) if line.startswith("--"))
        body = "".join(line for line in text.splitlines(True) if not line.startswith("--"))
        assert re.match(r"\d\d_[a-z0-9_]+\.sql$", path.name) and text.startswith("-- ")
        assert ";" not in body.strip().rstrip(";"), path.name
        used = {f"{{{n}:{t}}}" for n, t in PARAM.findall(body)}
        assert used and used <= {f"{{{n}:{t}}}" for n, t in PARAM.findall(header)}, path.name
        assert {"{site:String}", "{from:Date}", "{to:Date}"} <= used, path.name


@pytest.mark.parametrize("name, dimension, columns", [
    ("01", "time:day", ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "views_per_visit"]),
    ("03", "visit:entry_page", ["visitors", "visits", "bounce_rate", "visit_duration"]),
    ("04", "visit:exit_page", ["visitors", "visits", "bounce_rate", "visit_duration"]),
    ("05", "visit:source", ["visitors", "visits", "bounce_rate", "visit_duration"]),
    ("06", "visit:utm_campaign", ["visitors", "visits", "bounce_rate"]),
    ("07", "visit:country", ["visitors", "visits", "bounce_rate", "visit_duration"]),
    ("08", "visit:region", ["visitors", "visits", "bounce_rate", "visit_duration"]),
    ("09", "visit:city", ["visitors", "visits", "bounce_rate", "visit_duration"]),
    ("10", "visit:browser", ["visitors", "visits", "bounce_rate", "visit_duration"]),
    ("11", "visit:os", ["visitors", "visits", "bounce_rate", "visit_duration"]),
    ("12", "visit:device", ["visitors", "visits", "bounce_rate", "visit_duration"]),
    ("02", "event:page", ["visitors", "pageviews"]),
    ("13", "event:goal", ["visitors", "events"]),
])
def test_suppressed_breakdowns_agree_with_the_stats_api(board: Board, name: str, dimension: str,
                                                        columns: list[str]) -> None:
    rows = board.run(name)
    api = board.api(metrics=columns, dimensions=[dimension])
    if name == "06":
        api = [r for r in api if r[0] != ""]
    key = (lambda r: r[0]) if name == "01" else (lambda r: (r[0] == "(other)", -r[1], r[0]))
    assert sorted(rows, key=key)[:100] == sorted(api, key=key)[:100]
    assert rows and all(r[1] >= 5 for r in rows)  # k = 5: no row describes fewer visitors


def test_custom_event_props_agree_with_the_stats_api(board: Board) -> None:
    rows = board.run("14")
    admin = {"authorization": "Bearer t"}
    for key in ("plan", "position"):
        api = board.api(headers=admin, metrics=["visitors", "events"], dimensions=[f"event:props:{key}"],
                        filters=[["is", "event:goal", ["signup"]]])
        assert sorted(api) == sorted((v, n, e) for k, v, n, e in rows if k == key)


def test_heatmap_agrees_with_the_heatmap_api(board: Board) -> None:
    rows = board.run("19")
    p = board.params
    answer = board.client.get("/api/stats/heatmap", headers=READER, params={
        "site_id": SITE, "page": p["page"], "width": str(p["width"]), "from": p["from"].isoformat(),
        "to": p["to"].isoformat()}).json()
    cells = {(round(c["x"] * 20), round(c["y"] * 50)): (c["clicks"], c["visitors"]) for c in answer["cells"]}
    assert {(x, y): (c, v) for x, y, c, v in rows if x != 255} == cells
    other = [(c, v) for x, _, c, v in rows if x == 255]
    assert other == ([(answer["other"]["clicks"], answer["other"]["visitors"])] if answer["other"] else [])


def raw(board: Board, columns: str, where: str = "1") -> list[tuple[Any, ...]]:
    return board.store.query(f"SELECT {columns} FROM analytics.events WHERE site = {{s:String}} AND {where}",
                             {"s": SITE})


def test_funnel_counts_consented_visitors_step_by_step(board: Board) -> None:
    steps = dict(board.run("15"))
    assert list(steps) == [1, 2, 3] and steps[1] >= steps[2] >= steps[3]
    first = raw(board, "uniqExact(visitor_id)", "tier = 'full' AND type = 'pageview' AND path = '/'")[0][0]
    assert steps[1] == first


def test_retention_cohorts_match_a_python_count(board: Board) -> None:
    weeks: dict[int, set[dt.date]] = defaultdict(set)
    for vid, day in raw(board, "visitor_id, toDate(ts)", "tier = 'full'"):
        weeks[vid].add(day - dt.timedelta(days=day.weekday()))
    expected: dict[tuple[dt.date, int], int] = defaultdict(int)
    for seen in weeks.values():
        cohort = min(seen)
        for week in seen:
            expected[(cohort, (week - cohort).days // 7)] += 1
    assert {(c, w): n for c, w, n in board.run("16")} == dict(expected)


def test_vitals_consent_tiers_and_dropped_counts(board: Board) -> None:
    p75 = {(path, name): (n, v) for path, name, n, v in board.run("17")}
    expected = raw(board, "path, name, count(), round(quantile(0.75)(value), 3)", "type = 'vital' GROUP BY path, name")
    assert p75 == {(path, name): (n, v) for path, name, n, v in expected}
    tiers = board.run("18")
    counts = dict(((t, (e, v)) for t, e, v in raw(board, "toString(tier), count(), uniqExact(visitor_id)",
                                                  "1 GROUP BY tier")))
    assert {t: (e, v) for t, e, v, _ in tiers} == counts
    assert sum(share for *_, share in tiers) == pytest.approx(100, abs=0.02)
    assert [(r, n) for _, r, n in board.run("20")] == [("bot", 7), ("consent_denied", 3)]


def test_consent_sources_count_each_visitor_once_per_source(board: Board) -> None:
    """Receipts written as the pipeline writes them: a visitor's grant and later withdrawal count once; a
    refusal without an id counts once per receipt; opt-out signal receipts are not choices."""
    rows = [("11111111-1111-1111-1111-111111111111", 7, "grant", "tcf"), ("22222222-2222-2222-2222-222222222222", 7,
             "withdraw", "tcf"), ("33333333-3333-3333-3333-333333333333", 0, "withdraw", "tcf"),
            ("44444444-4444-4444-4444-444444444444", 8, "grant", "gcm"), ("55555555-5555-5555-5555-555555555555", 0,
             "withdraw", "gpc")]
    values = ", ".join(f"('{r}', '{SITE}', now(), {v}, '{a}', ['analytics'], 'v1', '{s}', 'full', 1, 400, 0, 0, 0)"
                       for r, v, a, s in rows)
    board.store.command(f"INSERT INTO analytics.consent_receipts VALUES {values}")
    try:
        assert board.run("21") == [("tcf", 2, 66.67, 1, 2), ("gcm", 1, 33.33, 1, 0)]
    finally:
        board.store.command("TRUNCATE TABLE analytics.consent_receipts")
