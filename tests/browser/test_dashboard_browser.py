"""The dashboard in headless Chromium against a live collector (tests/browser/dashboard.mjs drives it).

Numbers on the page are compared with what the stats API (POST /api/stats/query, a read user's basic auth)
answers for the same query: the page must show the API's numbers, never its own. Screenshots are kept in
the test's tmp dir (its path is printed).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_harness import LiveCollector, serve_collector
from conftest import LONDON_IP, MINNEAPOLIS_IP, Api, Clock
from dashboard_harness import run_dashboard
from live import Collector

from collector import visits_open
from collector.read import card_lists, cellkey
from collector.settings import DEMO_CONFIG, Settings

XSS_PATH = "/<script>alert(1)</script>"
XSS_PROP = "<img src=x onerror=alert(1)>"
READER = f"""
[users.owner]
role = "read"
password_sha256_hex = "{hashlib.sha256(b"owner-pass").hexdigest()}"
sites = ["test.example"]
"""
DAY_S = 86400


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.config_path.write_text(settings.config_path.read_text() + READER)
    return replace(settings, admin_token="browser-admin-token")


def _event(n: int, **fields: Any) -> dict[str, Any]:
    """An event of consented visitor n (a stable id, so each n is one visitor)."""
    return {"site": "test.example", "consent": {"analytics": True}, "vid": f"visitor-{n:012d}", **fields}


def _page(n: int, path: str, **fields: Any) -> dict[str, Any]:
    return _event(n, type="pageview", url=f"https://test.example{path}", **fields)


def seed(london: Api, minneapolis: Api, clock: Clock) -> None:
    """Ten visitors ten days ago; twenty today from two cities, with sources whose names a spreadsheet would
    evaluate, a page path and a prop value that are HTML, heatmap clicks, and five visitors each alone on a
    page or a heatmap cell (too few to show: folded into `(other)`, which at five visitors may show)."""
    now = clock.now
    clock.advance(-10 * DAY_S)
    london.send([_page(n, p, referrer="https://news.example/a") for n in range(10) for p in ("/", "/pricing")])
    london.flush()
    clock.now = now - 600
    for n in range(10, 30):
        api = london if n < 20 else minneapolis
        landing = "/?utm_source=%3DHYPERLINK(1)" if 16 <= n < 22 else "/?utm_source=%2Bcmd" if 22 <= n < 28 else "/"
        assert api.send([_page(n, landing)]).status_code == 202
        clock.advance(5)  # the landing page is the visit's first event: its source is the visit's
        events = [_page(n, "/pricing")] if n % 2 else [_event(n, type="engagement", url="https://test.example/",
                                                                 engaged_ms=4000, scroll=50)]
        if 10 <= n < 16:
            events += [_page(n, XSS_PATH), _event(n, type="custom", name="Signup", url="https://test.example/",
                                                  props={"plan": XSS_PROP})]
        if n >= 25:
            events.append(_page(n, f"/tiny-{n}"))
        click = {"type": "click", "kind": "heatmap", "url": "https://test.example/", "w": 1280}
        if n < 18:
            events.append(_event(n, **click, x=0.12, y=0.31, tag="button"))
        if n < 16:
            events.append(_event(n, **click, x=0.71, y=0.05, tag="a"))
        if n >= 25:
            events.append(_event(n, **click, x=0.5, y=0.1 * (n - 24), tag="div"))
        assert api.send(events).status_code == 202  # never empty: every visitor clicks or visits /pricing
    london.flush()
    minneapolis.flush()


# A cell key under which the counts this test names (5, 6, 8, 10, 20, 30 visitors or clicks) get no noise, so the
# page's rows are known here; whether the noise protects anything is tests/test_differencing.py's question.
PINNED_KEY = (1161, 0)
NAMED_COUNTS = [5, 6, 8, 10, 20, 30]


def pin_cell_key(store: Any) -> None:
    """The oldest key of a site is the one every answer uses: give test.example one older than the app's."""
    store.client.insert("analytics.cell_keys", [("test.example", *PINNED_KEY, 1, int(time.time()), 400)],
                        column_names=["site", "k0", "k1", "created_at", "updated_at", "retention_days"])
    assert cellkey.perturb(store, "test.example", 5, NAMED_COUNTS) == NAMED_COUNTS


@pytest.fixture
def live(make_api: Callable[..., Api], clock: Clock) -> Iterator[LiveCollector]:
    london, minneapolis = make_api(peer=LONDON_IP), make_api(peer=MINNEAPOLIS_IP)
    pin_cell_key(london.store)
    seed(london, minneapolis, clock)
    # The closer's round (a minute apart in a running collector): the open day's visits and cards as of now.
    visits_open.update_open(london.store, clock.now)
    card_lists.keep_ready(london.store, london.collector.config, clock.now)
    with serve_collector(london) as collector:
        settled(collector)
        yield collector


def settled(live: LiveCollector, visitors: int = 30, timeout_s: float = 60.0) -> None:
    """Wait (bounded) until the store answers every seeded visitor: the last rows may still be on their way in,
    or a visits round half done, when the server starts. Past the deadline the test's own checks report it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = stats(live, expect=None, metrics=["visitors"])
        if answer.get("results") and answer["results"][0]["metrics"] == [visitors]:
            return
        time.sleep(0.5)


def stats(live: LiveCollector, expect: int | None = 200, **query: Any) -> dict[str, Any]:
    """The stats API's answer for the read user."""
    auth = "Basic " + base64.b64encode(b"owner:owner-pass").decode()
    body = {"site_id": "test.example", "date_range": "30d", "filters": [], **query}
    r = httpx.post(f"{live.url}/api/stats/query", json=body, headers={"authorization": auth}, timeout=30)
    assert expect is None or r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


def js(value: Any) -> str:
    """A JSON value as JavaScript's String() writes it (the page's data-value attributes)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "null" if value is None else str(value)


def api_rows(answer: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(js(r["dimensions"][-1]), [js(v) for v in r["metrics"]]) for r in answer["results"]]


def page_rows(snap: dict[str, Any], card: str) -> list[tuple[str, list[str]]]:
    return [(r["value"], r["metrics"]) for r in snap["cards"][card]["rows"]]


HEADLINE = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]
CARDS = {"pages": ("event:page", ["visitors", "pageviews"]), "sources": ("visit:source", ["visitors"]),
         "locations": ("visit:country", ["visitors"]), "devices": ("visit:device", ["visitors"])}


def assert_page_matches_api(live: LiveCollector, snap: dict[str, Any], headline: list[str] = HEADLINE,
                            **query: Any) -> None:
    """The headline and every card of CARDS show the stats API's answer, or the API's refusal."""
    head = stats(live, metrics=headline, **query)["results"][0]["metrics"]
    shown = {m: snap["headline"][m]["value"] for m in HEADLINE}
    assert shown == {m: js(head[headline.index(m)]) if m in headline else "" for m in HEADLINE}
    for card, (dim, metrics) in CARDS.items():
        answer = stats(live, metrics=metrics, dimensions=[dim], order_by=[[metrics[0], "desc"]],
                       pagination={"limit": 10}, expect=None, **query)
        if "error" in answer:  # a combination the stats API refuses: the card says why
            assert answer["detail"] in snap["cards"][card]["text"], card
        else:
            assert page_rows(snap, card) == api_rows(answer), card


def test_the_dashboard_shows_what_the_stats_api_answers(live: LiveCollector, tmp_path: Path, clock: Clock) -> None:
    def days_ago(n: int) -> dt.date:
        return dt.datetime.fromtimestamp(clock.now, dt.UTC).date() - dt.timedelta(days=n)

    out = run_dashboard(live.url, [
        {"do": "login"}, {"do": "dashboard"}, {"do": "screenshot", "name": "dashboard-30d"},
        {"do": "period", "value": "7d"},
        {"do": "pick", "card": "pages", "label": "/pricing"},
        {"do": "unfilter"},
        {"do": "custom", "from": str(days_ago(12)), "to": str(days_ago(8))},
        {"do": "period", "value": "7d"},
        {"do": "csv", "card": "sources"},
        {"do": "propkey", "key": "plan"},
        {"do": "compare", "value": "previous_period"},
        {"do": "inline"},
        {"do": "heatmap", "query": {"site_id": "test.example", "page": "/", "width": "1200"}},
        {"do": "screenshot", "name": "heatmap", "fullPage": False},
        {"do": "goto", "path": "/dashboard"}, {"do": "dashboard"}, {"do": "logout"},
        {"do": "goto", "path": "/dashboard"},
    ], tmp_path / "artifacts", "owner", "owner-pass")
    (login, first, shot, week, filtered, unfiltered, custom, _, download, props, compared, inline, heat, _, _, _,
     logout, after) = out["results"]
    assert login["cookies"] == [{"name": "collector_session", "httpOnly": True, "sameSite": "Strict"}]
    assert Path(shot["path"]).stat().st_size > 10_000

    # a. Headline numbers and the rows of four cards equal the stats API's, for 30 days and for 7.
    assert_page_matches_api(live, first)
    assert first["headline"]["visitors"]["value"] == "30"
    assert_page_matches_api(live, week, date_range="7d")
    assert week["headline"]["visitors"]["value"] == "20"
    # Small cells: the two visitors of /tiny are folded away for this read user.
    assert not [label for label, _ in page_rows(first, "pages") if label.startswith("/tiny")]
    assert ("(other)", ["5", "5"]) in page_rows(first, "pages")
    # Clicking a row filters the whole dashboard, as the stats API filters.
    assert filtered["chips"] == ["page is /pricing"]
    assert_page_matches_api(live, filtered, ["visitors", "pageviews"], date_range="7d",
                            filters=[["is", "event:page", ["/pricing"]]])
    assert filtered["headline"]["visitors"]["value"] == "10"
    assert unfiltered["chips"] == [] and unfiltered["headline"] == week["headline"]
    # A custom period: the ten visitors of ten days ago.
    assert_page_matches_api(live, custom, date_range=[str(days_ago(12)), str(days_ago(8))])
    assert custom["headline"]["visitors"]["value"] == "10" and "period=custom" in custom["url"]
    # Comparison with the previous period: the change is the API's.
    api = stats(live, metrics=HEADLINE, date_range="7d", include={"comparison": "previous_period"})["results"][0]
    assert api["comparison"]["change"][0] == 100  # 20 visitors this week, 10 the week before
    assert compared["headline"]["visitors"]["change"] == "+100%"
    assert compared["headline"]["pageviews"]["change"] == f"+{api['comparison']['change'][2]}%"

    # The CSV download neutralises cells a spreadsheet would evaluate.
    rows = list(csv.reader(io.StringIO(download["text"].lstrip("\ufeff"))))
    assert rows[0] == ["visit:source", "visitors"]
    sources = {r[0]: r[1] for r in rows[1:]}
    assert sources["'=HYPERLINK(1)"] == "6" and sources["'+cmd"] == "6" and "=HYPERLINK(1)" not in sources

    # b. A path and a prop value that are HTML render as text; no dialog fired; inline script is blocked.
    assert XSS_PATH in [r["label"] for r in first["cards"]["pages"]["rows"]]
    assert XSS_PROP in [r["label"] for r in props["cards"]["goals"]["rows"]]
    assert out["dialogs"] == [] and not any("alert" in e for e in out["errors"])
    assert inline == {"ran": False, "blocked": "script-src-elem"}

    # The heatmap draws a dot on each cell the API returns, at the cell's place on the page.
    cells = httpx.get(f"{live.url}/api/stats/heatmap", params={"site_id": "test.example", "page": "/", "width": "1200"},
                      headers={"authorization": "Basic " + base64.b64encode(b"owner:owner-pass").decode()}).json()
    expected = sorted((c["x"], c["y"], c["clicks"]) for c in cells["cells"])
    assert expected == [(0.1, 0.3, 8), (0.7, 0.04, 6)]  # x 0.12 -> column 2 of 20, y 0.31 -> row 15 of 50 ...
    assert sorted((d["x"], d["y"], d["clicks"]) for d in heat["dots"]) == expected
    stage = heat["stage"]
    for dot in heat["dots"]:
        assert abs(dot["cx"] - (stage["x"] + (dot["x"] + 0.025) * stage["width"])) < 2
        assert abs(dot["cy"] - (stage["y"] + (dot["y"] + 0.01) * stage["height"])) < 2

    # c. Logging out ends the session: the dashboard sends the browser back to the login form.
    assert logout["url"].endswith("/dashboard/login") and after["url"].endswith("/dashboard/login")
    print(json.dumps({"screenshots": [shot["path"]]}))


def test_readme_command_1_a_first_run_shows_your_own_visit(tmp_path: Path) -> None:
    """d. `collector serve` with the demo config: open `/`, press the demo button, follow a link, log in with
    the printed demo login, and the dashboard shows this one visit within seconds (the writer's flush)."""
    collector = Collector(tmp_path / "demo", COLLECTOR_CONFIG=str(DEMO_CONFIG)).start()
    try:
        password = (collector.data_dir / "demo-login").read_text().strip()
        out = run_dashboard(collector.url, [
            {"do": "goto", "path": "/"}, {"do": "click", "selector": "#signup"},
            {"do": "clickNav", "selector": "#pricing-link"}, {"do": "clickNav", "selector": "#to-dashboard"},
            {"do": "login"},
            {"do": "until", "metric": "visitors", "value": 1,
             "cards": {"pages": ["/", "/pricing"], "goals": ["Signup"]}},
            {"do": "screenshot", "name": "first-run"},
            {"do": "heatmap", "query": {"site_id": "demo.example", "page": "/", "frame": "1"}},
            {"do": "screenshot", "name": "first-run-heatmap", "fullPage": False},
        ], tmp_path / "artifacts", "demo", password)
    finally:
        assert collector.stop() == 0
    seen = out["results"][5]
    assert seen["headline"]["visitors"]["value"] == "1" and seen["headline"]["visits"]["value"] == "1"
    assert seen["headline"]["pageviews"]["value"] == "2"
    assert sorted(r["label"] for r in seen["cards"]["pages"]["rows"]) == ["/", "/pricing"]
    assert [(r["label"], r["metrics"][:2]) for r in seen["cards"]["goals"]["rows"]] == [("Signup", ["1", "1"])]
    # The demo site lets the collector frame it: the heatmap draws your click over the page itself.
    heat = out["results"][7]
    assert heat["frame"] == ["/"] and [d["clicks"] for d in heat["dots"]] == [1, 1]  # the button and the link
    assert out["dialogs"] == [] and out["errors"] == []
    stderr = (collector.root / "stderr-1.log").read_text()
    hints = [line for line in stderr.splitlines() if "demo dashboard" in line]
    assert len(hints) == 1 and password in hints[0]
