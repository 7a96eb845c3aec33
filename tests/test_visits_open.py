"""Open days' visits kept current by the closer (collector/visits_open.py): whatever arrived, whether or not a
round ran since, a read of visits_open plus the visitors stored after its watermark equals the independent
reference of tests/test_visits.py; late events change visits already written (start, entry, day, merges); a
repeated round, a crash before the watermark and a stale closer writing last change nothing."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from test_visits import DAY1, at, reference_visits

from collector import visits, visits_open

DAY0, DAY2 = DAY1 - dt.timedelta(days=1), DAY1 + dt.timedelta(days=1)
NOW = at(DAY2, 12, 0)  # the closer's clock: day 1 and day 2 are open, day 0 is closable
COLUMNS = ("visitor_id, toUnixTimestamp(start), toString(tier), duration_s, pageviews, events, interactions, bounce, "
           "entry_page, exit_page, referrer_host, country, rollup_retention_days")
Event = tuple[int, int, str, str, str, str, str, int]


def insert(store: Any, events: list[Event], site: str = "s") -> None:
    """One writer batch: all its rows share one store time, as the collector's writer inserts them."""
    rows = ",".join(f"('{site}', toDateTime({ts}), '{t}', '{p}', {vid}, '{tier}', '{ref}', '{c}', 30, {keep})"
                    for vid, ts, t, p, tier, ref, c, keep in events)
    store.command("INSERT INTO analytics.events (site, ts, type, path, visitor_id, tier, referrer_host, country, "
                  f"retention_days, rollup_retention_days) VALUES {rows}")


def read_open(store: Any, day: dt.datetime, site: str = "s") -> set[tuple[Any, ...]]:
    """The visits of `day` as a read after the closer's last round sees them (visits_open + fresh visitors)."""
    mark = visits_open.watermark(store, site)
    wm = mark[0] if mark else 0
    rows = store.query(f"SELECT {COLUMNS} FROM ({visits_open.OPEN_SQL})",
                       {"site": site, "from": day.date(), "to": day.date(), "wm": wm})
    assert len(rows) == len(set(rows))  # no visit counted twice
    return set(rows)


def read_raw(store: Any, day: dt.datetime, site: str = "s") -> set[tuple[Any, ...]]:
    return set(store.query(f"SELECT {COLUMNS} FROM ({visits.VISITS_SQL})",
                           {"site": site, "from": day.date(), "to": day.date()}))


def check(store: Any, events: list[Event], raw: bool = True) -> None:
    for day in (DAY1, DAY2):
        expected = reference_visits(events, day.date())
        assert read_open(store, day) == expected
        if raw:
            assert read_raw(store, day) == expected


def random_events(rng: random.Random, n: int) -> list[Event]:
    """As in the reference test of tests/test_visits.py: ties, gaps of exactly 1800 and 1801 s, midnight."""
    base = int(DAY1.timestamp())
    out = []
    for _ in range(n):
        vid = rng.randrange(40)
        ts = base - 1800 + rng.randrange(0, 2 * 86400 + 1800, 1800) + rng.choice((0, 0, 1, 600, 1800))
        out.append((vid, ts, rng.choice(("pageview", "pageview", "click", "engagement", "form")),
                    rng.choice(("/a", "/b", "/c")), rng.choice(("anonymous", "full")),
                    rng.choice(("", "x.org", "y.org")), rng.choice(("DE", "US")), rng.choice((30, 400))))
    return out


def test_batches_in_any_order_with_or_without_a_round_equal_the_reference(store) -> None:
    # Events arrive in batches in no particular time order (so most batches hold late events for visits a
    # round already wrote); a round runs after some batches only, so reads mix visits_open and fresh visitors.
    rng = random.Random(11)
    events = random_events(rng, 2500)
    seen: list[Event] = []
    for i in range(5):
        batch = events[i * 500:(i + 1) * 500]
        insert(store, batch)
        seen += batch
        if i != 2:
            visits_open.update_open(store, NOW, chunk_rows=200)  # several pieces of visitors per round
        check(store, seen, raw=False)
    assert len(reference_visits(seen, DAY1.date())) > 100
    visits_open.update_open(store, NOW)
    rows = store.query("SELECT count(), uniqExact(site, day, visitor_id) FROM analytics.visits_open FINAL")
    assert rows[0][0] == rows[0][1] > 0
    check(store, seen)


def test_a_late_event_rewrites_a_visit_already_written(store) -> None:
    p = ("anonymous", "", "DE", 30)
    t = int(DAY1.timestamp())
    first = [
        (1, t + 36000, "pageview", "/a", *p), (1, t + 36600, "pageview", "/b", *p),  # 10:00, 10:10
        (2, t + 36000, "pageview", "/a", *p), (2, t + 39600, "pageview", "/c", *p),  # 10:00 and 11:00: two visits
        (3, t + 600, "pageview", "/m", *p),  # 00:10 on day 1
    ]
    insert(store, first)
    visits_open.update_open(store, NOW)
    check(store, first)
    assert len(read_open(store, DAY1)) == 4
    stale = store.query("SELECT * FROM analytics.visits_open")
    # Hours later, events that happened earlier arrive (within the accepted late window):
    late = [
        (1, t + 35100, "pageview", "/early", "anonymous", "z.org", "US", 30),  # 09:45: new start, entry, source
        (2, t + 37800, "click", "/a", *p),  # 10:30: joins the two visits of visitor 2 into one, not a bounce
        (3, t - 300, "pageview", "/n", *p),  # 23:55 on day 0: visitor 3's visit now starts on day 0
    ]
    insert(store, late)
    everything = first + late
    check(store, everything)  # before the next round: the three visitors are read from raw rows
    visits_open.update_open(store, NOW)
    check(store, everything)  # after it: from visits_open
    got = {v[0]: v for v in read_open(store, DAY1)}
    assert set(got) == {1, 2}
    assert got[1][8] == "/early" and got[1][10] == "z.org" and got[1][3] == 1500
    assert got[2][3] == 3600 and got[2][7] == 0
    assert store.query("SELECT start FROM analytics.visits_open FINAL WHERE visitor_id = 3 AND day = {d:Date}",
                       {"d": DAY1.date()}) == [([],)]  # the day-1 row of visitor 3 is emptied, not left behind
    # A crash before the watermark: the next round redoes the work and writes the same rows.
    store.command("TRUNCATE TABLE analytics.visits_watermark")
    visits_open.update_open(store, NOW)
    check(store, everything)
    # A slower second closer that read before the late events writes its stale rows last: they lose.
    columns = [r[0] for r in store.query("SELECT name FROM system.columns WHERE database = 'analytics' "
                                         "AND table = 'visits_open' ORDER BY position")]
    store.client.insert("analytics.visits_open", stale, column_names=columns)
    check(store, everything)


def test_sites_are_kept_apart_and_old_days_dropped(store) -> None:
    p = ("anonymous", "", "DE", 30)
    t = int(DAY1.timestamp())
    insert(store, [(1, t + 100, "pageview", "/a", *p)], site="s")
    insert(store, [(1, t + 200, "pageview", "/z", *p)], site="other")
    visits_open.update_open(store, NOW)
    assert {v[8] for v in read_open(store, DAY1, "s")} == {"/a"}
    assert {v[8] for v in read_open(store, DAY1, "other")} == {"/z"}
    # Four days on, day 1 is long closed: its rows (and visitor ids) leave visits_open.
    visits_open.update_open(store, NOW + 4 * 86400)
    assert store.query("SELECT count() FROM analytics.visits_open") == [(0,)]


def test_a_day_closed_in_pieces_equals_the_reference_once(store) -> None:
    events = random_events(random.Random(5), 600)
    insert(store, events)
    expected = reference_visits(events, DAY1.date())
    for _ in range(2):  # the second time as after a crash before the marker: every piece is a no-op
        assert visits.close_day(store, "s", DAY1.date(), chunk_rows=50) == len(expected)
        store.command("TRUNCATE TABLE analytics.visits_closed")
    rollup = store.query("SELECT sum(visit_count), sum(bounces), sum(pageviews), sum(duration_s) "
                         "FROM analytics.visits_daily WHERE site = 's'")
    assert rollup == [(len(expected), sum(v[7] for v in expected), sum(v[4] for v in expected),
                       sum(v[3] for v in expected))]
