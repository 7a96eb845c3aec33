"""Schema and storage, read back from the engine: columns, TTLs, rollups, migrations."""

from __future__ import annotations

import ipaddress
import re
import threading

import pytest
from canaries import CANARY_IPS, CANARY_UA, needles
from conftest import IPHONE, MINNEAPOLIS_IP, event

from collector.row import COLUMNS
from collector.store import migrate, migration_files


def _tables(store, engine_like: str = "%MergeTree") -> list[tuple[str, str]]:
    return store.query("SELECT name, create_table_query FROM system.tables WHERE database = 'analytics' "
                       "AND engine LIKE {e:String} ORDER BY name", {"e": engine_like})


@pytest.mark.both_modes  # also in server mode (conftest)
def test_row_builder_columns_match_the_ddl(store) -> None:
    ddl = [r[0] for r in store.query("SELECT name FROM system.columns WHERE database = 'analytics' "
                                     "AND table = 'events' AND default_kind = '' ORDER BY position")]
    assert list(COLUMNS) == ddl


def test_no_column_is_named_or_typed_for_personal_data(store) -> None:
    columns = store.query("SELECT table, name, type FROM system.columns WHERE database = 'analytics'")
    assert columns
    forbidden_name = re.compile(r"(^|_)(ip|ipv4|ipv6|addr|address|lat|latitude|lon|lng|longitude|postal|zip|"
                                r"user_agent|ua|useragent|url|href|query|querystring|search)($|_)")
    for table, name, typ in columns:
        assert not forbidden_name.search(name), f"{table}.{name}"
        assert not re.search(r"IPv4|IPv6|Point|Tuple\(Float64, Float64\)", typ), f"{table}.{name} {typ}"


def column_leaks(store, database: str, forms: dict[bytes, str]) -> list[str]:
    """'table.column: form' for every canary form found in what a column holds, read back as text (TSV)
    and as the engine's binary values (RowBinary: integers little-endian, as on disk)."""
    leaks = []
    tables = store.query("SELECT name FROM system.tables WHERE database = {d:String} AND engine LIKE '%MergeTree'",
                         {"d": database})
    for (table,) in tables:
        for (column,) in store.query("SELECT name FROM system.columns WHERE database = {d:String} AND "
                                     "table = {t:String}", {"d": database, "t": table}):
            with store.lock:
                views = [store.client.raw_query(f"SELECT `{column}` FROM `{database}`.`{table}` FORMAT {fmt}")
                         for fmt in ("TSV", "RowBinary")]
            leaks += [f"{table}.{column}: {what}" for needle, what in forms.items() if any(needle in v for v in views)]
    return leaks


def fill_with_canaries(make_api) -> None:
    """Every table gets rows from a canary address and user agent: each event type, consented and not,
    a receipt, a signal receipt, a bot and a denied event (counted), error messages quoting the address."""
    ip = CANARY_IPS[4]  # a GeoLite2 address, so geo columns are filled too
    api = make_api(peer=ip)
    url = f"https://test.example/p?utm_source=x&email=jane@example.com&ip={ip}"
    events = [event(url=url, consent={"analytics": True}, vid="canary-first-party-0001", sid="canary-session-1"),
              event(url=url), event(type="error", url=url, message=f"GET http://{ip}/x from {ip} failed",
                                    source="cdn.example"),
              event(type="engagement", url=url, engaged_ms=1200, scroll=50),
              event(type="vital", url=url, name="LCP", value=900.0), event(type="custom", url=url, name="signup"),
              event(type="click", url=url, kind="outbound", link="out.example"),
              event(type="consent", url=url, action="grant", categories=["analytics"], consent={"analytics": True},
                    vid="canary-first-party-0001")]
    assert api.send(events, ua=CANARY_UA, headers={"referer": url}).json()["accepted"] == len(events)
    api.send(event(site="signals.example", url="https://signals.example/"), ua=CANARY_UA, headers={"sec-gpc": "1"})
    api.send(event(site="strict.example", url="https://strict.example/"), ua=CANARY_UA)
    api.send(event(), ua="curl/8.0 " + CANARY_UA)  # a bot
    api.collector.consent_worker.tick()  # writes the counted signal receipt now, not in a minute
    api.flush()


def test_no_column_holds_a_clients_address_or_user_agent(make_api, store) -> None:
    fill_with_canaries(make_api)
    filled = [t for (t,) in store.query("SELECT name FROM system.tables WHERE database = 'analytics' AND "
                                        "engine LIKE '%MergeTree' AND total_rows > 0")]
    assert {"events", "consent_receipts", "dropped_daily", "pages_daily", "geo_daily"} <= set(filled)
    assert column_leaks(store, "analytics", needles()) == []


def test_the_column_check_can_fail(store) -> None:
    """Columns with innocent names holding the address as a number and the user agent as text are found."""
    store.command("CREATE DATABASE IF NOT EXISTS leak_scratch")
    store.command("CREATE TABLE leak_scratch.t (n UInt32, note String, h FixedString(16)) ENGINE = MergeTree "
                  "ORDER BY n")
    try:
        store.client.insert("leak_scratch.t", [[int(ipaddress.ip_address("81.2.69.142")), CANARY_UA,
                                                 ipaddress.ip_address("2001:db8::77").packed]],
                            column_names=["n", "note", "h"])
        assert sorted(column_leaks(store, "leak_scratch", needles())) == [
            "t.h: 2001:db8::77 packed", "t.n: 81.2.69.142 as decimal UInt32", "t.n: 81.2.69.142 packed little-endian",
            "t.note: user agent", "t.note: user agent marker"]
    finally:
        store.command("DROP DATABASE leak_scratch SYNC")


def test_every_table_has_a_ttl_with_a_reason(store) -> None:
    tables = _tables(store)
    assert {"events", "pages_daily", "pages_hourly", "sources_daily", "geo_daily", "technology_daily",
            "events_daily", "dropped_daily", "site_daily", "top_pages_daily",
            "top_sources_daily"} <= {name for name, _ in tables}
    for name, create in tables:
        assert " TTL " in create, f"{name} has no TTL"
    for _, name, sql in migration_files():
        if "TTL" in sql:
            before = sql.split("TTL", 1)[0].rstrip().splitlines()[-1]
            assert before.lstrip().startswith("--"), f"{name}: the TTL has no comment saying why"


def test_rollups_hold_no_identifiers_outside_sketches(store) -> None:
    # analytics.visits has the Null engine: it stores nothing, its rows only feed the visit rollups.
    # visits_open is no rollup: the open days' visits per visitor, with the raw rows' pseudonymous id and
    # kept no longer than those rows (its TTL is checked by tests/test_inventory.py).
    columns = store.query("SELECT table, name, type FROM system.columns WHERE database = 'analytics' "
                          "AND table NOT IN ('events', 'visits_open') AND table NOT LIKE '%receipts%' AND table IN "
                          "(SELECT name FROM system.tables WHERE database = 'analytics' AND engine LIKE '%MergeTree')")
    for table, name, typ in columns:
        if "visitor" in name or "session" in name or name.endswith("visits"):
            assert typ.startswith("AggregateFunction(uniq"), f"{table}.{name} {typ}"


@pytest.mark.both_modes  # also in server mode (conftest)
def test_migrations_run_once(store) -> None:
    assert migrate(store) == []
    applied = store.query("SELECT count() FROM analytics_meta.migrations")[0][0]
    assert applied == len(migration_files())


@pytest.mark.both_modes  # also in server mode (conftest)
def test_rollup_views_equal_raw_counts(api) -> None:
    pages = ["/", "/a", "/b", "/a", "/", "/"]
    api.send([event(url=f"https://test.example{p}") for p in pages])
    api.send(event(type="custom", name="Signup", props={"plan": "pro"}))
    raw = dict(api.rows("SELECT path, count() FROM analytics.events WHERE type = 'pageview' GROUP BY path"))
    daily = dict(api.rows("SELECT path, sum(views) FROM analytics.pages_daily GROUP BY path"))
    hourly = dict(api.rows("SELECT path, sum(views) FROM analytics.pages_hourly GROUP BY path"))
    top = dict(api.rows("SELECT path, sum(views) FROM analytics.top_pages_daily GROUP BY path"))
    assert raw == daily == hourly == top == {"/": 3, "/a": 2, "/b": 1}
    assert api.rows("SELECT sum(views) FROM analytics.site_daily") == [(6,)]
    assert api.rows("SELECT sum(views) FROM analytics.top_sources_daily") == [(6,)]
    assert api.rows("SELECT sum(views) FROM analytics.geo_daily") == [(6,)]
    assert api.rows("SELECT sum(views) FROM analytics.technology_daily") == [(6,)]
    assert api.rows("SELECT sum(views) FROM analytics.sources_daily") == [(6,)]
    assert api.rows("SELECT name, sum(events) FROM analytics.events_daily GROUP BY name") == [("Signup", 1)]
    assert api.rows("SELECT tier, sum(events) FROM analytics.tiers_daily GROUP BY tier") == [("anonymous", 7)]


def test_visitors_over_several_days_come_from_merged_sketches(make_api, clock) -> None:
    # Five consented browsers visit on two days: 5 uniques each day, 5 over both, not 10.
    api = make_api()
    for _ in range(2):
        api.send([event(consent={"analytics": True}, vid=f"visitor-number-{i:04d}") for i in range(5)])
        clock.advance(86400)
    daily = api.rows("SELECT day, uniqCombined64Merge(visitors) FROM analytics.pages_daily GROUP BY day ORDER BY day")
    assert [n for _, n in daily] == [5, 5]
    merged = api.rows("SELECT uniqCombined64Merge(visitors) FROM analytics.pages_daily")[0][0]
    assert merged == 5 < sum(n for _, n in daily)
    # The dashboard's compact sketches give the same answers.
    site = api.rows("SELECT day, uniqCombined64Merge(12)(visitors) FROM analytics.site_daily GROUP BY day ORDER BY day")
    assert [n for _, n in site] == [5, 5]
    assert api.rows("SELECT uniqCombined64Merge(12)(visitors) FROM analytics.site_daily") == [(5,)]
    assert api.rows("SELECT uniqCombined64Merge(12)(visitors) FROM analytics.top_pages_daily") == [(5,)]
    assert api.rows("SELECT uniqCombined64Merge(12)(visitors) FROM analytics.top_sources_daily") == [(5,)]


def test_geo_and_technology_rollups(make_api) -> None:
    api = make_api(peer=MINNEAPOLIS_IP)
    api.send(event(), ua=IPHONE)
    assert api.rows("SELECT country, region, city, sum(views) FROM analytics.geo_daily GROUP BY ALL") == [
        ("US", "US-MN", "Minneapolis", 1)]
    assert api.rows("SELECT browser, os, device, sum(views) FROM analytics.technology_daily GROUP BY ALL") == [
        ("Mobile Safari", "iOS", "mobile", 1)]


@pytest.mark.both_modes  # also in server mode (conftest)
def test_raw_rows_expire_by_their_own_retention(api, store, clock) -> None:
    clock.advance(-31 * 86400)  # the collector's clock: events arrive stamped 31 days ago
    api.send(event())
    clock.advance(30 * 86400)
    api.send(event(site="strict.example", url="https://strict.example/", consent={"analytics": True}, vid="v" * 20))
    api.flush()
    store.command("OPTIMIZE TABLE analytics.events FINAL")
    assert api.rows("SELECT site FROM analytics.events") == [("strict.example",)]
    assert api.rows("SELECT sum(views) FROM analytics.pages_daily") == [(2,)]  # the rollups outlive them


def test_dashboard_rollups_are_backfilled_once_from_events_already_stored(api, store) -> None:
    # A store that held events before the dashboard rollups existed: their backfill migrations fill them
    # from the raw table, and a backfill that runs again (interrupted before it was recorded) adds nothing.
    api.send([event(url=f"https://test.example{p}") for p in ["/", "/a", "/"]])
    backfills = [(v, name, sql) for v, name, sql in migration_files() if name.endswith("_backfill")]
    assert len(backfills) == 3
    for table in ("site_daily", "top_pages_daily", "top_sources_daily"):
        store.command(f"TRUNCATE TABLE analytics.{table}")
    store.command("ALTER TABLE analytics_meta.migrations DELETE WHERE version IN "
                  f"({', '.join(str(v) for v, _, _ in backfills)}) SETTINGS mutations_sync = 2")
    # Their claims lapse at once (claim_ttl_s=0), as a dead collector's do after CLAIM_TTL_S.
    assert sorted(migrate(store, claim_ttl_s=0)) == sorted(name for _, name, _ in backfills)
    for _, _, sql in backfills:
        store.command(sql)
    assert api.rows("SELECT sum(views) FROM analytics.site_daily") == [(3,)]
    assert api.rows("SELECT path, sum(views) FROM analytics.top_pages_daily GROUP BY path ORDER BY path") == [
        ("/", 2), ("/a", 1)]
    assert api.rows("SELECT sum(views) FROM analytics.top_sources_daily") == [(3,)]


def test_each_backfill_selects_what_its_view_selects() -> None:
    # A backfill repeats its materialized view's SELECT (migrations are frozen files): the two must not drift.
    files = {name: sql for _, name, sql in migration_files()}

    def select(sql: str) -> str:
        lines = [line.split("--")[0].strip() for line in sql[sql.index("SELECT"):].splitlines()]
        body = " ".join(line for line in lines if line)
        # The backfill's emptiness guard is the one difference allowed.
        return re.sub(r" (WHERE|AND) \(SELECT count\(\) FROM analytics\.\w+\) = 0", "", body)

    backfills = [name for name in files if name.endswith("_backfill")]
    assert backfills
    for name in backfills:
        view = next(n for n in files if n.endswith(name.split("_", 1)[1].replace("_backfill", "_mv")))
        assert select(files[name]) == select(files[view]), name


def test_reads_run_on_handles_of_their_own_beside_the_writer(store) -> None:
    # The stats API and dashboard read through store.beside_writer(): on the embedded store, handles of their own on
    # the engine, so a read neither waits for nor holds the writer's lock, and two reads run at once.
    if not store.embedded:
        pytest.skip("a server's pooled clients are tested in server mode")
    store.command("INSERT INTO analytics.events (site, ts, type, visitor_id, retention_days) "
                  "VALUES ('s', now(), 'pageview', 1, 30)")
    seen: list[object] = []

    def read() -> None:
        with store.beside_writer() as first, store.beside_writer() as second:
            seen.extend([first, second])
            seen.append(first.query("SELECT count() FROM analytics.events").result_rows[0][0])

    with store.lock:  # the writer holds the lock (an insert, a piece of closing)
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(60)  # a read that needed the lock would still be waiting
        assert not reader.is_alive()
    first, second, count = seen
    assert count == 1 and first is not second and store.client not in (first, second)
