"""A read user's attacks on a hidden small group, and the reader's answers against the reference at k = 1, 5, 10.

The data (one copy per site, so each site has its own cell key):

- day A: 50 "big" visitors view /big (12:00), 7 "mid" visitors view /mid (12:01), 4 "small" visitors view
  /small (12:03, city Small Town); day B: the same big and mid visitors again, the small ones not;
- day C: the big visitors again, and 3 "overlap" visitors who each view both /o1 and /o2 (two rows under
  k holding the same people, which add up past k in the complementary rule);
- day D: the big visitors click one heatmap cell of /big on a wide screen, 4 others another on a phone;
- day E (the last): 4 "early" visitors view /small at 11:58, the big visitors /big from 12:00 (the realtime
  count is of everything since 5 minutes ago: two windows a minute apart differ by the early ones).

Each attack is a few reader requests whose answers differ by exactly the small group when they are exact (the
test first plays it as the admin and checks that). The attacker is assumed to know the p-table's bound
(cellkey.MAX_NOISE; 0 if the reader's figures show no noise at all) and that the group was suppressed when
asked alone; from every pair of answers they keep the sizes they cannot rule out. The test fails if that
leaves the group's size exact or within ±1 (at most 3 consecutive candidates), or if a path shows a count as
another figure than the stats API does (a path that skipped the noise would show it exact).

The second half compares the reader's rows at k = 1, 5 and 10 with tests/stats_reference.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import stats_reference as ref
from conftest import TEST_CONFIG, Clock
from starlette.testclient import TestClient

from collector import visits
from collector.app import create_app
from collector.read import cellkey
from collector.settings import Settings

K5, K1, K10 = "k5.example", "k1.example", "k10.example"
KS = {K1: 1, K5: 5, K10: 10}
SITES = "".join(f'[sites."{site}"]\ndomains = ["{site}"]\nsmall_cell_threshold = {k}\n\n' for site, k in KS.items())
READER = {"authorization": "Basic " + base64.b64encode(b"reader:pw").decode()}
ADMIN = {"authorization": "Bearer admin-token"}
TODAY = dt.datetime.now(dt.UTC).date()
A, B, C, D, E = (TODAY - dt.timedelta(days=n) for n in (7, 6, 5, 4, 3))
SMALL, OVERLAP = 4, 3  # the hidden groups' true sizes
D_MAX = cellkey.MAX_NOISE


def at(day: dt.date, hour: int, minute: int, second: int = 0) -> int:
    return int(dt.datetime.combine(day, dt.time(hour, minute, second), dt.UTC).timestamp())


def insert(store: Any) -> None:
    rows: list[tuple[Any, ...]] = []

    def view(site: str, ts: int, path: str, vid: int, city: str = "Big City") -> None:
        rows.append((site, ts, "pageview", path, "GB", city, vid, 0.0, 0.0, 1280))

    for n, site in enumerate(KS):
        base = 1000 * (n + 1)
        for i in range(50):
            for day in (A, B, C):
                view(site, at(day, 12, 0, i), "/big", base + i)
            rows.append((site, at(D, 12, 0, i), "click", "/big", "GB", "Big City", base + i, 0.5, 0.5, 1280))
            view(site, at(E, 12, 0, i), "/big", base + i)
        for i in range(7):
            for day in (A, B):
                view(site, at(day, 12, 1, i), "/mid", base + 100 + i, "Mid Town")
        for i in range(SMALL):
            view(site, at(A, 12, 3, i), "/small", base + 200 + i, "Small Town")
            rows.append((site, at(D, 12, 5, i), "click", "/big", "GB", "Big City", base + 300 + i, 0.05, 0.02, 400))
            view(site, at(E, 11, 58, i), "/small", base + 500 + i, "Small Town")
        for i in range(OVERLAP):
            view(site, at(C, 13, 0, i), "/o1", base + 400 + i)
            view(site, at(C, 13, 1, i), "/o2", base + 400 + i)
    store.client.insert("analytics.events", [(*r[:2], r[2], "heatmap" if r[2] == "click" else "", *r[3:], 30, 400)
                                             for r in rows], column_names=[
        "site", "ts", "type", "name", "path", "country", "city", "visitor_id", "x", "y", "viewport_width",
        "retention_days", "rollup_retention_days"])


@pytest.fixture(scope="module")
def app(session_store: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Clock]]:
    store = session_store
    for (table,) in store.query("SELECT name FROM system.tables WHERE database = 'analytics' "
                                "AND engine LIKE '%MergeTree'"):
        store.command(f"TRUNCATE TABLE analytics.{table}")
    insert(store)
    visits.close_due(store, time.time())
    tmp = tmp_path_factory.mktemp("differencing")
    users = "".join(f'[users.{name}]\nrole = "{name}"\npassword_sha256_hex = "{hashlib.sha256(b"pw").hexdigest()}"\n'
                    for name in ("reader", "analyst")).replace('role = "reader"', 'role = "read"')
    (tmp / "sites.toml").write_text(TEST_CONFIG + SITES + users)
    clock = Clock()
    settings = Settings(data_dir=tmp / "data", config_path=tmp / "sites.toml", admin_token="admin-token")
    with TestClient(create_app(settings, clock=clock, store=store)) as client:
        yield client, clock


@pytest.fixture
def client(app: tuple[TestClient, Clock]) -> TestClient:
    return app[0]


def ask(client: TestClient, headers: dict[str, str], site: str, days: tuple[dt.date, dt.date],
        **body: Any) -> dict[str, Any]:
    response = client.post("/api/stats/query", headers=headers, json={
        "site_id": site, "date_range": [days[0].isoformat(), days[1].isoformat()], "metrics": ["visitors"], **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def total(client: TestClient, headers: dict[str, str], site: str, days: tuple[dt.date, dt.date],
          *filters: Any) -> int | None:
    return ask(client, headers, site, days, filters=list(filters))["results"][0]["metrics"][0]  # type: ignore[no-any-return]


def rows(result: dict[str, Any]) -> dict[str, int]:
    return {r["dimensions"][0]: r["metrics"][0] for r in result["results"]}


# (answer with the group, answer without it[, how many released figures the two sum, default 2]): their exact
# difference is the group.
Pair = tuple[Any, ...]
# An attack: (client, credentials) -> pairs of answers.
Attack = Callable[[TestClient, dict[str, str]], list[Pair]]
DAY_A, DAY_B, DAY_C, DAY_D = (A, A), (B, B), (C, C), (D, D)


def negation(op: str, values: list[str]) -> Attack:
    return lambda c, h: [(total(c, h, K5, DAY_A), total(c, h, K5, DAY_A, [op, "event:page", values]))]


def combination(*filters: Any) -> Attack:
    return lambda c, h: [(total(c, h, K5, DAY_A), total(c, h, K5, DAY_A, *filters))]


def days_apart(c: TestClient, h: dict[str, str]) -> list[Pair]:
    return [(total(c, h, K5, (A, B)), total(c, h, K5, DAY_B)),
            (total(c, h, K5, (A - dt.timedelta(days=1), B)), total(c, h, K5, (B, B + dt.timedelta(days=1))))]


def visit_negation(c: TestClient, h: dict[str, str]) -> list[Pair]:
    city = ["is_not", "visit:city", ["Small Town"]]
    return [(total(c, h, K5, DAY_A), total(c, h, K5, DAY_A, city)),
            (ask(c, h, K5, DAY_A, metrics=["visitors", "visits"])["results"][0]["metrics"][1],
             ask(c, h, K5, DAY_A, metrics=["visitors", "visits"], filters=[city])["results"][0]["metrics"][1])]


def overlapping_rows(c: TestClient, h: dict[str, str]) -> list[Pair]:
    pages = rows(ask(c, h, K5, DAY_C, dimensions=["event:page"]))
    return [(total(c, h, K5, DAY_C), pages.get("/big"))]


def comparison(c: TestClient, h: dict[str, str]) -> list[Pair]:
    result = ask(c, h, K5, DAY_B, include={"comparison": "previous_period"})["results"][0]
    return [(result["comparison"]["metrics"][0], result["metrics"][0])]


def pagination(c: TestClient, h: dict[str, str]) -> list[Pair]:
    named = {}
    for offset in range(4):
        page = ask(c, h, K5, DAY_A, dimensions=["event:page"], include={"total_rows": True},
                   pagination={"limit": 1, "offset": offset})
        named |= {k: v for k, v in rows(page).items() if k not in ("(other)", "/small")}
    everyone = total(c, h, K5, DAY_A)
    return [(everyone, sum(named.values()), 1 + len(named))] if "/big" in named and "/mid" in named else []


def by_hour(c: TestClient, h: dict[str, str]) -> list[Pair]:
    hours = rows(ask(c, h, K5, DAY_A, dimensions=["time:hour"]))
    return [(total(c, h, K5, DAY_A), total(c, h, K5, DAY_B))] + [(v, total(c, h, K5, DAY_B)) for v in hours.values()]


def realtime(clock: Clock) -> Attack:
    def play(c: TestClient, h: dict[str, str]) -> list[Pair]:
        answers = []
        for now in (at(E, 12, 2), at(E, 12, 4)):  # since 11:57 (early and big visitors) and since 11:59 (big)
            clock.now = now
            answers.append(c.get("/api/stats/realtime", headers=h, params={"site_id": K5}).json()["visitors"])
        clock.now = float(int(time.time()))
        return [(answers[0], answers[1])]
    return play


def heatmap(c: TestClient, h: dict[str, str]) -> list[Pair]:
    def cells(**p: str) -> dict[str, Any]:
        return c.get("/api/stats/heatmap", headers=h, params={  # type: ignore[no-any-return]
            "site_id": K5, "page": "/big", "from": D.isoformat(), "to": D.isoformat(), **p}).json()
    every, wide = cells(), cells(width="1200")
    def seen(a: dict[str, Any], what: str) -> int:
        return sum(x[what] for x in a["cells"]) + (a["other"] or {}).get(what, 0)
    terms = sum(len(a["cells"]) + (a["other"] is not None) for a in (every, wide))
    return [(seen(every, w), seen(wide, w), terms)[:2 if terms == 2 else 3] for w in ("visitors", "clicks")]


def sql_views(c: TestClient, h: dict[str, str]) -> list[Pair]:
    if h is ADMIN:  # the views apply the site's k to everyone: the admin's exact figures come from the API
        per_day = rows(ask(c, h, K5, (A, B), dimensions=["time:day"]))
        return [(per_day[str(A)], per_day[str(B)]), (total(c, h, K5, DAY_A), total(c, h, K5, DAY_B))]
    auth = ("reader", "pw")
    def view(text: str) -> dict[str, int]:
        r = c.post("/sql", content=(text + " FORMAT JSONEachRow").encode(), auth=auth)
        assert r.status_code == 200, r.text
        return {str(row[0]): int(row[1]) for row in map(lambda line: list(orjson.loads(line).values()),
                                                        r.text.splitlines())}
    def call(name: str, days: tuple[dt.date, dt.date], extra: str = "") -> str:
        return (f"SELECT * FROM analytics.{name}(site = '{K5}', from = '{days[0]}', to = '{days[1]}'{extra})")
    per_day = view(call("read_visits", (A, B), ", dimension = 'day'"))
    pages = [view(call("read_pages", d)) for d in (DAY_A, DAY_B)]
    return [(per_day.get(str(A)), per_day.get(str(B))),
            (sum(pages[0].values()), sum(pages[1].values()), len(pages[0]) + len(pages[1]))]


def csv_export(c: TestClient, h: dict[str, str]) -> list[Pair]:
    if h is ADMIN:
        return [(total(c, h, K5, DAY_A), total(c, h, K5, DAY_A, ["is_not", "event:page", ["/small"]]))]
    c.cookies.clear()
    assert c.post("/dashboard/login", data={"user": "reader", "password": "pw"},
                  follow_redirects=False).status_code in (302, 303)
    def one(*filters: Any) -> int | None:
        q = {"site_id": K5, "metrics": ["visitors"], "date_range": [str(A), str(A)], "filters": list(filters)}
        r = c.get("/dashboard/export.csv", params={"q": orjson.dumps(q).decode()})
        assert r.status_code == 200, r.text
        cell = r.text.splitlines()[1]
        return int(cell) if cell else None
    pair = (one(), one(["is_not", "event:page", ["/small"]]))
    c.cookies.clear()
    return [pair]


ATTACKS: dict[str, Callable[[Clock], Attack]] = {
    "is_not": lambda _: negation("is_not", ["/small"]),
    "contains_not": lambda _: negation("contains_not", ["small"]),
    "matches_not": lambda _: negation("matches_not", ["^/sm"]),
    "not": lambda _: combination(["not", ["is", "event:page", ["/small"]]]),
    "or": lambda _: combination(["or", [["is", "event:page", ["/big", "/mid"]], ["is", "event:page", ["/none"]]]]),
    "and of negations": lambda _: combination(["and", [["is_not", "event:page", ["/small"]],
                                                       ["is_not", "event:page", ["/none"]]]]),
    "visit attribute negation": lambda _: visit_negation,
    "date ranges a day apart": lambda _: days_apart,
    "hours of a day": lambda _: by_hour,
    "realtime windows minutes apart": realtime,
    "overlapping small rows": lambda _: overlapping_rows,
    "comparison": lambda _: comparison,
    "pagination": lambda _: pagination,
    "heatmap widths": lambda _: heatmap,
    "read views with other parameters": lambda _: sql_views,
    "dashboard CSV": lambda _: csv_export,
}
TRUE = {name: OVERLAP if name == "overlapping small rows" else SMALL for name in ATTACKS}


def candidates(pairs: list[Pair], k: int, noise: int) -> set[int]:
    """The group sizes an attacker who knows the noise bound cannot rule out: the group was suppressed
    asked alone (size < k, or perturbed below k: size < k + noise), and each pair of released figures is
    within 2 * noise of the difference of their exact counts."""
    left = set(range(1, k + noise))
    for with_group, without, *terms in pairs:
        if with_group is not None and without is not None:
            gap, bound = with_group - without, (terms[0] if terms else 2) * noise
            left &= set(range(gap - bound, gap + bound + 1))
    return left


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_reader_cannot_difference_the_hidden_group(app: tuple[TestClient, Clock], bound: int,
                                                    figures: dict[int, int], name: str) -> None:
    client, clock = app
    attack = ATTACKS[name](clock)
    exact = attack(client, ADMIN)
    # Against exact answers the attack works: some pair differs by exactly the hidden group.
    assert exact and any(p[0] is not None and p[1] is not None and p[0] - p[1] == TRUE[name] for p in exact), exact
    pairs = attack(client, READER)
    # One count, one figure, on this path too (a path that skipped the noise would show the exact count).
    if len(pairs) == len(exact):
        for mine, truth in zip(pairs, exact, strict=True):
            if len(mine) == 2:  # two single figures, whose exact counts are the admin's
                for shown, n in zip(mine, truth[:2], strict=True):
                    assert shown is None or n not in figures or shown == figures[n], (name, n, shown, figures)
    left = candidates(pairs, 5, bound)
    assert TRUE[name] in left, (pairs, left)  # the noise stays within the bound the attacker is told
    assert len(left) >= 4, f"{name}: the reader narrows the group to {sorted(left)} from {pairs}"


def test_every_attack_at_once_still_leaves_four_sizes(app: tuple[TestClient, Clock], bound: int) -> None:
    client, clock = app
    pairs = [p for name, attack in ATTACKS.items() if TRUE[name] == SMALL for p in attack(clock)(client, READER)]
    assert len(candidates(pairs, 5, bound)) >= 4, pairs


def shown_figures(client: TestClient) -> dict[int, int]:
    """exact count -> the figure a reader is shown for it, over the named rows of a few breakdowns (both metrics);
    checks on the way that each is within the bound, of a row of at least k, and one figure per count (else two
    figures of one count could be averaged)."""
    figure: dict[int, int] = {}
    for days in (DAY_A, DAY_B, DAY_C, (A, B), (A, C), (A, D)):
        for dims in (["event:page"], ["visit:city"], ["time:day"]):
            mine = ask(client, READER, K5, days, dimensions=dims, metrics=["visitors", "pageviews"])["results"]
            truth = {tuple(r["dimensions"]): r["metrics"] for r in ask(
                client, ADMIN, K5, days, dimensions=dims, metrics=["visitors", "pageviews"])["results"]}
            for row in mine:
                if row["dimensions"] == ["(other)"]:
                    continue
                exact = truth[tuple(row["dimensions"])]
                assert exact[0] >= 5, (row, exact)
                for shown, n in zip(row["metrics"], exact, strict=True):
                    assert abs(shown - n) <= D_MAX, (row, exact)
                    assert figure.setdefault(n, shown) == shown, (n, shown, figure)
    return figure


@pytest.fixture(scope="module")
def figures(app: tuple[TestClient, Clock]) -> dict[int, int]:
    return shown_figures(app[0])


@pytest.fixture(scope="module")
def bound(figures: dict[int, int]) -> int:
    """The noise bound the attacker works with: the documented one, once the reader's figures show any noise
    at all (with no noise, the attacker rightly takes every figure as exact)."""
    return D_MAX if any(shown != n for n, shown in figures.items()) else 0


def test_no_reader_or_analyst_can_read_the_cell_key(client: TestClient, session_store: Any) -> None:
    (k0,) = session_store.query("SELECT k0 FROM analytics.cell_keys WHERE site = {s:String} LIMIT 1", {"s": K5})[0]
    for user in ("reader", "analyst"):
        for text in ("SELECT k0, k1 FROM analytics.cell_keys",
                     "SELECT * FROM system.columns WHERE table = 'cell_keys'"):
            r = client.post("/sql", content=(text + " FORMAT JSONEachRow").encode(), auth=(user, "pw"))
            assert str(k0) not in r.text and (r.status_code >= 400 or r.text.strip() == ""), (user, text, r.text)


def test_the_noise_is_there_bounded_and_the_same_for_the_same_count(client: TestClient) -> None:
    figure = shown_figures(client)
    assert len(figure) >= 6 and any(figure[n] != n for n in figure), figure


# --- The reader's answers against the reference, at k = 1, 5 and 10 ---------------------------------------------

QUERIES: dict[str, tuple[list[str], Callable[[Any], Any], str, Callable[[Any], bool]]] = {
    # name: (dimensions, the reference's key, events or visits, which events the rollup counts)
    "pages": (["event:page"], lambda e: e["path"], "event", lambda e: e["type"] == "pageview"),
    "cities": (["visit:city"], lambda v: v.attr("city"), "visit", lambda v: True),
    "days": (["time:day"], lambda e: e["ts"].date().isoformat(), "event", lambda e: True),
}


def reference(events: list[dict[str, Any]], what: str, hidden: set[Any] | None = None) -> dict[Any, int]:
    """Visitors per group by the reference; with `hidden`, the visitors of those groups together."""
    _, key, family, where = QUERIES[what]
    group = key if hidden is None else (lambda x: "(other)")
    def keep(x: Any) -> bool:
        return where(x) and (hidden is None or key(x) in hidden)
    if family == "event":
        groups = ref.event_metrics(events, A, D, group, keep)
    else:
        groups = ref.visit_metrics(ref.sessionise(events), A, D, group, keep)
    return {g: m["visitors"] for g, m in groups.items()}


@pytest.mark.parametrize("site", list(KS))
@pytest.mark.parametrize("what", list(QUERIES))
def test_the_readers_rows_match_the_reference_within_the_noise(client: TestClient, session_store: Any, site: str,
                                                               what: str) -> None:
    k, dims = KS[site], QUERIES[what][0]
    events = ref.load(session_store, site)
    truth = reference(events, what)
    answer = ask(client, READER, site, (A, D), dimensions=dims)
    shown = rows(answer)
    assert rows(ask(client, ADMIN, site, (A, D), dimensions=dims)) == truth  # the admin: exact, nothing hidden
    if k == 1:  # no suppression, no noise: the reference exactly
        assert shown == truth and answer["meta"]["small_cell_threshold"] == 1
        return
    named = {g: v for g, v in shown.items() if g != "(other)"}
    for group, value in named.items():
        assert truth[group] >= k and abs(value - truth[group]) <= D_MAX, (group, value, truth[group])
    hidden = {g for g in truth if g not in named}
    assert {g for g, n in truth.items() if n < k} <= hidden
    assert answer["meta"]["suppressed_rows"] == len(hidden)
    if "(other)" in shown:  # the folded rows' visitors, counted once, at least k
        folded = reference(events, what, hidden)["(other)"]
        assert folded >= k and abs(shown["(other)"] - folded) <= D_MAX, (shown, folded)


@pytest.mark.parametrize("site", list(KS))
def test_the_readers_total_matches_the_reference_within_the_noise(client: TestClient, session_store: Any,
                                                                  site: str) -> None:
    events = ref.load(session_store, site)
    truth = ref.event_metrics(events, A, D, lambda e: "all")["all"]["visitors"]
    got = total(client, READER, site, (A, D))
    assert got == truth if KS[site] == 1 else abs(got - truth) <= D_MAX
    small = ref.event_metrics(events, A, A, lambda e: "s", lambda e: e["path"] == "/small")["s"]["visitors"]
    alone = total(client, READER, site, DAY_A, ["is", "event:page", ["/small"]])
    assert alone == small if small >= KS[site] else alone is None
