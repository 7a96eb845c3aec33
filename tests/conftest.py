"""Shared fixtures: one real embedded ClickHouse store per test session (chDB allows one store path
per process), emptied before each test that asks for it; apps built on it with a fixed clock."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from collector.app import create_app
from collector.settings import Settings
from collector.store import Store, migrate, open_store

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
LONDON_IP = "81.2.69.142"          # GB / GB-ENG / Willesden in the packaged GeoLite2 DB
MINNEAPOLIS_IP = "128.101.101.101"  # US / US-MN / Minneapolis

TEST_CONFIG = """
[sites."test.example"]
domains = ["test.example", "*.test.example"]
query_params = ["ref"]
policy_version = "v1"

[sites."country.example"]
domains = ["country.example"]
geo = "country"

[sites."strict.example"]
domains = ["strict.example"]
consent = "strict"

[sites."signals.example"]
domains = ["signals.example"]
gpc = "denied"
dnt = "ignore"

[sites."browser.test"]
domains = ["127.0.0.1", "localhost"]
gpc = "anonymous"
"""


@dataclass
class Clock:
    """A settable clock, injected wherever the code asks for the time."""

    now: float = field(default_factory=lambda: float(int(time.time())))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def session_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(Settings(data_dir=tmp_path_factory.mktemp("store")))
    migrate(store)
    yield store
    store.close()


def analytics_tables(store: Store) -> list[str]:
    return [r[0] for r in store.query(
        "SELECT name FROM system.tables WHERE database = 'analytics' AND engine LIKE '%MergeTree'")]


@pytest.fixture
def store(session_store: Store) -> Store:
    """The session store, emptied: every analytics table starts with 0 rows."""
    for table in analytics_tables(session_store):
        session_store.command(f"TRUNCATE TABLE analytics.{table}")
    return session_store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    config = tmp_path / "sites.toml"
    config.write_text(TEST_CONFIG)
    return Settings(data_dir=tmp_path / "data", config_path=config, flush_interval_ms=20)


class Api:
    """A TestClient on the app plus helpers to send events and read rows back."""

    def __init__(self, client: TestClient, store: Store) -> None:
        self.client = client
        self.store = store
        self.collector = client.app.state.collector  # type: ignore[attr-defined]

    def send(self, body: Any, *, ua: str = FIREFOX, content_type: str = "application/json",
             headers: dict[str, str] | None = None) -> Any:
        import orjson

        data = body if isinstance(body, bytes) else orjson.dumps(body)
        return self.client.post("/api/event", content=data,
                                headers={"content-type": content_type, "user-agent": ua, **(headers or {})})

    def flush(self) -> None:
        self.collector.writer.flush()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        self.flush()
        return self.store.query(sql)

    def count(self, table: str = "events", where: str = "1") -> int:
        return int(self.rows(f"SELECT count() FROM analytics.{table} WHERE {where}")[0][0])


@pytest.fixture
def make_api(store: Store, settings: Settings, clock: Clock) -> Iterator[Callable[..., Api]]:
    """Build an Api; keyword arguments override Settings fields; `peer` sets the socket address."""
    stack: list[TestClient] = []

    def make(peer: str = LONDON_IP, **overrides: Any) -> Api:
        # Apps made here share a data dir, as a restarted collector does: the earlier ones drain their spool
        # first, or the new one's start-up recovery would insert (and delete) segments they still hold.
        for running in stack:
            running.app.state.collector.writer.flush()  # type: ignore[attr-defined]
        app = create_app(replace(settings, **overrides), clock=clock, store=store)
        client = TestClient(app, client=(peer, 50000))
        client.__enter__()
        stack.append(client)
        return Api(client, store)

    yield make
    for client in stack:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


def event(**fields: Any) -> dict[str, Any]:
    """A valid pageview for test.example, with fields overridden."""
    base: dict[str, Any] = {"site": "test.example", "type": "pageview", "url": "https://test.example/", "consent": {}}
    base.update(fields)
    return base


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app in uvicorn on a free 127.0.0.1 port in a thread; stop it on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
