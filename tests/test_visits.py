"""Visits: scripted visitors (anonymous and consented) through 30-minute gaps, midnight, a late event and a
collector restart; the numbers equal hand-computed values from the rollups and from the stats API, before
the day is closed (sessionised raw events) and after (visit rollups)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from conftest import FIREFOX, IPHONE, LONDON_IP, MINNEAPOLIS_IP, event
from starlette.testclient import TestClient

from collector import visits, visits_open
from collector.app import create_app

DAY1 = dt.datetime(2026, 11, 10, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=1)
ADMIN = {"authorization": "Bearer admin-token"}


def at(day: dt.datetime, hh: int, mm: int, ss: int = 0) -> float:
    return (day + dt.timedelta(hours=hh, minutes=mm, seconds=ss)).timestamp()


class Site:
    """One running collector with a client per visitor address."""

    def __init__(self, app: Any, clock: Any) -> None:
        self.app, self.clock = app, clock
        self.peers = {ip: TestClient(app, client=(ip, 50000)) for ip in (LONDON_IP, MINNEAPOLIS_IP)}

    def send(self, when: float, peer: str = LONDON_IP, ua: str = FIREFOX, sent_at: float | None = None,
             **fields: Any) -> None:
        """An event that happened at `when`, received at `sent_at` (default: at once)."""
        self.clock.now = sent_at if sent_at is not None else when
        body = event(ts=int(when * 1000), **fields)
        response = self.peers[peer].post("/api/event", json=body, headers={"user-agent": ua})
        assert response.status_code == 202 and response.json()["accepted"] == 1, response.text

    def query(self, **body: Any) -> dict[str, Any]:
        response = self.peers[LONDON_IP].post("/api/stats/query", json={"site_id": "test.example", **body},
                                              headers=ADMIN)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@contextmanager
def collector(settings: Any, clock: Any, store: Any) -> Iterator[Site]:
    app = create_app(replace(settings, admin_token="admin-token"), clock=clock, store=store)
    with TestClient(app):
        yield Site(app, clock)
        app.state.collector.writer.flush()


def page(path: str) -> str:
    return f"https://test.example{path}"


B = {"peer": MINNEAPOLIS_IP, "ua": IPHONE, "consent": {"analytics": True}, "vid": "consented-visitor-b-0001"}
C = {"consent": {"analytics": True}, "vid": "consented-visitor-c-0001"}
D = {"consent": {"analytics": True}, "vid": "consented-visitor-d-0001"}


def script(settings: Any, clock: Any, store: Any) -> None:
    with collector(settings, clock, store) as site:
        # A, anonymous: a 40-minute gap splits two visits; a visit late at night.
        site.send(at(DAY1, 10, 0), url=page("/a"))
        site.send(at(DAY1, 10, 10), url=page("/b"))
        site.send(at(DAY1, 10, 50), url=page("/c"))
        site.send(at(DAY1, 23, 50), url=page("/night"))
        # B, consented: a visit that crosses midnight, with an outbound click.
        site.send(at(DAY1, 23, 40), url=page("/x"), **B)
        site.send(at(DAY1, 23, 55), url=page("/x"), type="click", kind="outbound", link="example.org", **B)
        # D, consented: a gap of exactly 30 minutes continues a visit, 30 minutes and a second ends it.
        site.send(at(DAY1, 14, 0), url=page("/g1"), **D)
        site.send(at(DAY1, 14, 30), url=page("/g2"), **D)
        site.send(at(DAY1, 15, 0, 1), url=page("/g3"), **D)
    # The collector restarts at midnight; the rest arrives at the new process.
    with collector(settings, clock, store) as site:
        site.send(at(DAY2, 0, 20), url=page("/y"), **B)
        # A after midnight: the anonymous daily hash changed, so this is a new visitor and a new visit.
        site.send(at(DAY2, 0, 10), url=page("/morning"))
        # C, consented, arrives 21 hours late (within the 24-hour window): a pageview and a custom event.
        site.send(at(DAY1, 15, 0), url=page("/late"), sent_at=at(DAY2, 12, 0), **C)
        site.send(at(DAY1, 15, 5), url=page("/late"), type="custom", name="Signup", sent_at=at(DAY2, 12, 1), **C)


# Hand-computed: day 1 has A(/a→/b 600 s), A(/c bounce), A(/night bounce), B(/x→/y 2400 s, click),
# C(/late 300 s, custom event), D(/g1→/g2 1800 s), D(/g3 bounce); day 2 has A(/morning bounce).
DAY1_TOTALS = {"visitors": 4, "visits": 7, "pageviews": 10, "bounce_rate": round(100 * 3 / 7),
               "visit_duration": round((600 + 2400 + 300 + 1800) / 7), "views_per_visit": round(10 / 7, 2)}
ENTRY = {"/a": 1, "/c": 1, "/night": 1, "/x": 1, "/late": 1, "/g1": 1, "/g3": 1}
EXIT = {"/b": 1, "/c": 1, "/night": 1, "/y": 1, "/late": 1, "/g2": 1, "/g3": 1}
METRICS = list(DAY1_TOTALS)


def check_api(site: Site, source: str) -> None:
    day1 = [DAY1.date().isoformat()] * 2
    answer = site.query(metrics=METRICS, date_range=day1)
    assert dict(zip(METRICS, answer["results"][0]["metrics"], strict=True)) == DAY1_TOTALS
    assert answer["meta"]["sources"][0].startswith(source)
    for dim, expected in (("visit:entry_page", ENTRY), ("visit:exit_page", EXIT)):
        rows = site.query(metrics=["visits"], date_range=day1, dimensions=[dim])["results"]
        assert {r["dimensions"][0]: r["metrics"][0] for r in rows} == expected
    both = site.query(metrics=["visits", "bounce_rate"], date_range=[DAY1.date().isoformat(), DAY2.date().isoformat()],
                      dimensions=["time:day"])["results"]
    assert [(r["dimensions"][0], r["metrics"]) for r in both] == [
        (DAY1.date().isoformat(), [7, DAY1_TOTALS["bounce_rate"]]), (DAY2.date().isoformat(), [1, 100])]


def test_scripted_visitors_give_hand_computed_visits(settings, clock, store) -> None:
    script(settings, clock, store)
    visits_open.update_open(store, at(DAY2, 12, 5))  # the closer's round after the last event
    with collector(settings, clock, store) as site:
        check_api(site, "rollup:visits_daily (open days)")  # day 1 is still open: the round's build of visits_open
    assert visits.closed_through(store, "test.example") is None
    closed = visits.close_due(store, at(DAY2, 0, 0) + 3 * 86400)
    assert [(d, n) for s, d, n in closed if s == "test.example"] == [(DAY1.date(), 7), (DAY2.date(), 1)]
    rollup = store.query("SELECT sum(visit_count), sum(bounces), sum(pageviews), sum(duration_s), "
                         "uniqCombined64Merge(12)(visitors) FROM analytics.visits_daily WHERE day = {d:Date}",
                         {"d": DAY1.date()})
    assert rollup == [(7, 3, 10, 5100, 4)]
    pages = store.query("SELECT kind, page, sum(visit_count) FROM analytics.visit_pages_daily WHERE day = {d:Date} "
                        "GROUP BY kind, page", {"d": DAY1.date()})
    assert {p: n for kind, p, n in pages if kind == "entry"} == ENTRY
    assert {p: n for kind, p, n in pages if kind == "exit"} == EXIT
    with collector(settings, clock, store) as site:
        check_api(site, "rollup:")


@pytest.mark.both_modes  # also in server mode (conftest)
def test_closing_twice_or_concurrently_writes_each_day_once(settings, clock, store) -> None:
    script(settings, clock, store)
    now = at(DAY2, 0, 0) + 3 * 86400
    visits.close_due(store, now)
    # A second closer (another process, or the same one after a crash before the marker): the insert token
    # makes its write a no-op.
    store.command("TRUNCATE TABLE analytics.visits_closed")
    visits.close_due(store, now)
    visits.close_day(store, "test.example", DAY1.date())
    assert store.query("SELECT sum(visit_count) FROM analytics.visits_daily") == [(8,)]


def test_a_day_closes_only_when_no_late_event_can_change_it() -> None:
    # Day 1's last events may arrive 24 hours after it ends and extend a visit by 30 minutes.
    end = at(DAY2, 0, 0)
    assert visits.last_closable_day(end + 24 * 3600 + 1799, 24 * 3600) < DAY1.date()
    assert visits.last_closable_day(end + 24 * 3600 + 1800, 24 * 3600) == DAY1.date()


@pytest.mark.parametrize("gap_s, expected", [(1800, 1), (1801, 2)])
def test_thirty_minutes_of_inactivity_end_a_visit(store, gap_s: int, expected: int) -> None:
    start = int(at(DAY1, 12, 0))
    store.command("INSERT INTO analytics.events (site, ts, type, path, visitor_id, retention_days, "
                  "rollup_retention_days) VALUES ('s', toDateTime({a:UInt32}), 'pageview', '/', 1, 30, 400), "
                  "('s', toDateTime({b:UInt32}), 'pageview', '/', 1, 30, 400)".replace(
                      "{a:UInt32}", str(start)).replace("{b:UInt32}", str(start + gap_s)))
    rows = store.query(f"SELECT count() FROM ({visits.VISITS_SQL})", {"site": "s", "from": DAY1.date(),
                                                                      "to": DAY1.date()})
    assert rows == [(expected,)]


def reference_visits(events: list[tuple[int, int, str, str, str, str, str, int]], day: dt.date) -> set[tuple[Any, ...]]:
    """Visits that started on `day`, computed in Python from (visitor, ts, type, path, tier, referrer, country,
    retention) by the rules of collector/visits.py: min/max over tuples, so ties in time go by value."""
    out = set()
    for vid in {e[0] for e in events}:
        mine = sorted(e for e in events if e[0] == vid)
        runs: list[list[tuple[int, int, str, str, str, str, str, int]]] = []
        for e in mine:
            if runs and e[1] - runs[-1][-1][1] <= visits.GAP_S:
                runs[-1].append(e)
            else:
                runs.append([e])
        for run in runs:
            start, last = run[0][1], run[-1][1]
            if dt.datetime.fromtimestamp(start, dt.UTC).date() != day:
                continue
            pvs = [(e[1], e[3]) for e in run if e[2] == "pageview"] or [(e[1], e[3]) for e in run]
            n_pv = sum(e[2] == "pageview" for e in run)
            n_int = sum(e[2] in visits.INTERACTIONS for e in run)
            first = min((e[1], e[2] != "pageview", e[5], e[6], e[4]) for e in run)
            out.add((vid, start, first[4], last - start, n_pv, len(run), n_int, int(n_pv == 1 and n_int == 0),
                     min(pvs)[1], max(pvs)[1], first[2], first[3], max(e[7] for e in run)))
    return out


def test_visits_equal_an_independent_reference_with_ties_and_gaps_at_the_edge(store) -> None:
    # Few visitors, coarse times and few values: many events share a second, and many gaps are exactly
    # 1800 or 1801 s; times span the 30 minutes before the day to the end of the next day. Events that share
    # the second a visit starts at all belong to it (a sessioniser that numbers visits by a running sum over
    # rows ordered by time alone may give some of them to the visit before).
    import random
    rng = random.Random(7)
    base = int(DAY1.timestamp())
    events = []
    for _ in range(3000):
        vid = rng.randrange(40)
        ts = base - 1800 + rng.randrange(0, 2 * 86400 + 1800, 1800) + rng.choice((0, 0, 1, 600, 1800))
        events.append((vid, ts, rng.choice(("pageview", "pageview", "click", "engagement", "form")),
                       rng.choice(("/a", "/b", "/c")), rng.choice(("anonymous", "full")),
                       rng.choice(("", "x.org", "y.org")), rng.choice(("DE", "US")), rng.choice((30, 400))))
    rows = ",".join(f"('s', toDateTime({ts}), '{t}', '{p}', {vid}, '{tier}', '{ref}', '{c}', 30, {keep})"
                    for vid, ts, t, p, tier, ref, c, keep in events)
    store.command("INSERT INTO analytics.events (site, ts, type, path, visitor_id, tier, referrer_host, country, "
                  f"retention_days, rollup_retention_days) VALUES {rows}")
    got = store.query("SELECT visitor_id, toUnixTimestamp(start), toString(tier), duration_s, pageviews, events, "
                      "interactions, bounce, entry_page, exit_page, referrer_host, country, rollup_retention_days "
                      f"FROM ({visits.VISITS_SQL})", {"site": "s", "from": DAY1.date(), "to": DAY1.date()})
    expected = reference_visits(events, DAY1.date())
    assert len(got) == len(expected) > 100
    assert set(got) == expected
