"""Server mode with more than one collector: several collectors (own data dirs, own processes or apps) on one
ClickHouse server. The server is the stand-in of standin.py — ClickHouse's HTTP interface over a real engine,
in a process of its own, because no ClickHouse server can be installed where the suite runs.

- three collectors starting at the same moment apply each migration exactly once;
- two collectors share one salt per day (one anonymous visitor id) and one HMAC key (one consented id), and a
  withdrawal sent through one erases the full-tier rows written through both (acceptance b);
- a secret.key of an embedded store seeds the server's key (the ids already stored stay the same visitors);
- the engine killed under load and restarted: nothing acknowledged lost, nothing doubled.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import FIREFOX, Standin, event, serve
from live import Load, wait_for
from starlette.testclient import TestClient

from collector import secret_key
from collector.app import create_app
from collector.rights import visitor_id
from collector.settings import Settings
from collector.store import Store, migrate, migration_files, open_store

SERVER = pytest.mark.parametrize("store_mode", ["server"], indirect=True)
PAGE = {"origin": "https://test.example"}
VID = "browser-first-party-00AB"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_standin(tmp_path: Path) -> Iterator[Standin]:
    """A stand-in of this test's own: an empty server, or one the test may kill."""
    server = Standin(tmp_path / "server").start()
    yield server
    server.stop()


@pytest.fixture
def collectors(store: Store, settings: Settings, clock: Any, tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """Collectors on the session's stand-in, each with its own data dir and its own store connections."""
    made: list[TestClient] = []

    def make(name: str) -> Any:
        client = TestClient(create_app(replace(settings, data_dir=tmp_path / name), clock=clock),
                            client=("81.2.69.142", 50000))
        client.__enter__()
        made.append(client)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)


def send(client: TestClient, body: Any) -> None:
    response = client.post("/api/event", content=orjson.dumps(body), headers={
        "content-type": "application/json", "user-agent": FIREFOX, **PAGE})
    assert response.status_code == 202, response.text
    client.app.state.collector.writer.flush()  # type: ignore[attr-defined]


def test_three_collectors_starting_at_once_apply_each_migration_once(fresh_standin: Standin) -> None:
    script = ("import sys, json; from collector.settings import Settings; "
              "from collector.store import open_store, migrate; "
              "print(json.dumps(migrate(open_store(Settings(clickhouse_url=sys.argv[1])))))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script, fresh_standin.url], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode()[-2000:] for _, err in outputs]
    applied = [orjson.loads(out) for out, _ in outputs]
    names = [name for _, name, _ in migration_files()]
    assert sorted(sum(applied, [])) == sorted(names)  # each applied by exactly one of the three
    store = open_store(Settings(clickhouse_url=fresh_standin.url))
    try:
        recorded = store.query("SELECT version, count() FROM analytics_meta.migrations GROUP BY version")
        assert sorted(recorded) == sorted((v, 1) for v, _, _ in migration_files())
        assert migrate(store) == []
        # A backfill run twice would double its rollup: one run each means empty rollups on an empty store.
        assert store.query("SELECT count() FROM analytics.site_daily") == [(0,)]
    finally:
        store.close()


@SERVER
def test_two_collectors_share_the_salt_of_the_day_and_the_key(collectors: Callable[[str], Any],
                                                                store: Store) -> None:
    a, b = collectors("a"), collectors("b")
    ctx_a, ctx_b = a.app.state.collector.ctx, b.app.state.collector.ctx
    assert ctx_a.secret == ctx_b.secret
    assert not (Path(a.app.state.collector.settings.data_dir) / "secret.key").exists()  # the server holds it
    send(a, event(url="https://test.example/from-a"))
    send(b, event(url="https://test.example/from-b"))
    send(a, event(url="https://test.example/full-a", consent={"analytics": True}, vid=VID))
    send(b, event(url="https://test.example/full-b", consent={"analytics": True}, vid=VID))
    rows = dict(store.query("SELECT path, visitor_id FROM analytics.events"))
    assert rows["/from-a"] == rows["/from-b"] != 0  # one anonymous visitor: one salt of the day
    assert rows["/full-a"] == rows["/full-b"] == visitor_id(ctx_a.secret, "test.example", VID)


@SERVER
def test_a_withdrawal_through_one_collector_erases_what_both_wrote(collectors: Callable[[str], Any],
                                                                     store: Store) -> None:
    # Acceptance b: a consented visitor sends through both machines, withdraws through one.
    a, b = collectors("a"), collectors("b")
    consented = {"consent": {"analytics": True}, "vid": VID, "sid": "session-00AB"}
    send(a, [event(url="https://test.example/a1", **consented), event(type="consent", action="grant",
                                                                        categories=["analytics"], **consented)])
    send(b, [event(url="https://test.example/b1", **consented), event(url="https://test.example/b2", **consented)])
    me = visitor_id(a.app.state.collector.ctx.secret, "test.example", VID)
    assert store.query(f"SELECT count() FROM analytics.events WHERE visitor_id = {me} AND tier = 'full'") == [(3,)]

    send(b, event(type="consent", action="withdraw", categories=["analytics"], consent={"analytics": False},
                  vid=VID))
    assert b.app.state.collector.consent_worker.wait_idle()
    assert store.query("SELECT count() FROM analytics.events WHERE tier = 'full'") == [(0,)]
    assert store.query(f"SELECT action FROM analytics.consent_receipts WHERE visitor_id = {me}") == [("withdraw",)]


def test_an_embedded_secret_key_seeds_the_server_and_later_machines_adopt_it(fresh_standin: Standin,
                                                                            tmp_path: Path) -> None:
    old = tmp_path / "embedded"
    first = secret_key.from_file(old)  # the key an embedded store has used so far
    store = open_store(Settings(clickhouse_url=fresh_standin.url))
    try:
        assert secret_key.from_store(store, old) == first  # moving to the server keeps the visitors' ids
        assert secret_key.from_store(store, tmp_path / "new-machine") == first
        other = tmp_path / "other"
        secret_key.from_file(other)  # a machine that had a different key of its own: the server's wins
        assert secret_key.from_store(store, other) == first
        assert store.query(f"SELECT count() FROM {secret_key.TABLE}") == [(1,)]
    finally:
        store.close()


def test_concurrent_first_starts_agree_on_one_key(fresh_standin: Standin, tmp_path: Path) -> None:
    script = ("import sys; from pathlib import Path; from collector.settings import Settings; "
              "from collector.store import open_store; from collector import secret_key; "
              "print(secret_key.from_store(open_store(Settings(clickhouse_url=sys.argv[1])), Path(sys.argv[2])).hex())")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script, fresh_standin.url, str(tmp_path / str(n))], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in range(3)]
    keys = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_engine_killed_under_load_and_restarted_loses_and_doubles_nothing(fresh_standin: Standin,
                                                                          settings: Settings, clock: Any) -> None:
    # Segments of 250 ms: the outage leaves tens of them, not hundreds, for the restarted server.
    app = create_app(replace(settings, clickhouse_url=fresh_standin.url, retry_max_ms=200, flush_interval_ms=250),
                     clock=clock)
    with TestClient(app) as client, serve(app) as url:
        collector = client.app.state.collector  # type: ignore[attr-defined]
        errors = lambda: collector.metrics.get("collector_flush_errors_total")  # noqa: E731
        with Load(lambda: url, "/killed/", threads=2) as load:
            wait_for(lambda: load.count() >= 30, 90, "acknowledged events before the kill")
            fresh_standin.kill()
            before = load.count()
            wait_for(lambda: errors() >= 2 and load.count() >= before + 60, 90, "events acknowledged while down")
            assert collector.writer.depth > 0  # the spool holds what the dead server could not take
            fresh_standin.start()  # bounded: a restarted engine may be slow to answer at first
            after = load.count()
            wait_for(lambda: load.count() >= after + 30, 90, "events acknowledged after the restart")
        assert collector.writer.drain(timeout_s=90)
        acked = list(load.acked)
    assert set(load.statuses) == {202}, load.statuses
    store = open_store(Settings(clickhouse_url=fresh_standin.url))
    try:
        stored = dict(store.query("SELECT path, count() FROM analytics.events WHERE startsWith(path, '/killed/') "
                                  "GROUP BY path"))
    finally:
        store.close()
    assert len(acked) == len(set(acked)) and set(stored) == set(acked)  # 0 lost
    assert set(stored.values()) == {1}  # 0 doubled


@SERVER
def test_threads_get_connections_of_their_own_in_server_mode(store: Store, standin: Standin) -> None:
    pooled = open_store(Settings(clickhouse_url=standin.url, store_connections=2))
    try:
        with pooled.connection() as first:
            taken = threading.Event()
            seen: list[Any] = []

            def other() -> None:  # never waits for `first` to be given back
                with pooled.connection() as second:
                    seen.append(second)
                    assert second.command("SELECT 1") == 1
                    taken.set()

            thread = threading.Thread(target=other)
            thread.start()
            assert taken.wait(30)
            thread.join(30)
        assert seen and seen[0] is not first and pooled.connections_made == 2
    finally:
        pooled.close()
