"""Shared fixtures: one real embedded ClickHouse store per test session (chDB allows one store path
per process), emptied before each test that asks for it; apps built on it with a fixed clock.

Server mode: a test module (or test) marked `both_modes` runs twice, `[embedded]` on that store and
`[server]` with CLICKHOUSE_URL set, over ClickHouse's HTTP interface, to a stand-in server (standin.py: the
collector's own /sql door over a real engine in a process of its own, because no ClickHouse server can be
installed where the suite runs). The stand-in starts once per session and its tables are emptied before
each test, as the embedded store's are."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
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


MODES = ("embedded", "server")
STANDIN = Path(__file__).resolve().parent / "standin.py"
STANDIN_START_S = 60.0  # a cold engine on a busy machine: bounded, never a hang


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_modes: run against the embedded store and against a server over HTTP")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_modes") and "store_mode" in metafunc.fixturenames:
        metafunc.parametrize("store_mode", MODES, indirect=True)


@pytest.fixture
def store_mode(request: pytest.FixtureRequest) -> str:
    """"embedded" (the default) or "server" (tests marked both_modes run in both)."""
    return str(getattr(request, "param", "embedded"))


@dataclass
class Standin:
    """A stand-in ClickHouse server (standin.py) in a process of its own, stopped or killed by its PID."""

    data_dir: Path
    port: int = field(default_factory=lambda: free_port())
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://admin:{self.token}@127.0.0.1:{self.port}/analytics?proxy_path=/sql"

    def start(self, timeout_s: float = STANDIN_START_S) -> Standin:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        self.process = subprocess.Popen([sys.executable, str(STANDIN), str(self.data_dir), str(self.port), self.token],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stand-in server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/sql/ping", timeout=2) as r:
                    if r.read() == b"Ok.\n":
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the stand-in server did not answer within {timeout_s:.0f} s")

    def kill(self) -> None:
        """SIGKILL: the engine dies mid-work, as a crashed server does."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standin]:
    server = Standin(tmp_path_factory.mktemp("standin")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server_store(standin: Standin) -> Iterator[Store]:
    """A server-mode store on the stand-in, migrated once per session."""
    store = open_store(Settings(clickhouse_url=standin.url))
    migrate(store)
    yield store
    store.close()


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
def store(store_mode: str, request: pytest.FixtureRequest) -> Store:
    """The session store of the mode, emptied: every analytics table starts with 0 rows."""
    chosen: Store = request.getfixturevalue("server_store" if store_mode == "server" else "session_store")
    for (table,) in chosen.query("SELECT name FROM system.tables WHERE database = 'analytics' "
                                 "AND engine LIKE '%MergeTree' AND total_rows > 0"):
        chosen.command(f"TRUNCATE TABLE analytics.{table}")
    if store_mode == "server":  # what a server shares between collectors starts empty too
        chosen.command("TRUNCATE TABLE IF EXISTS analytics_meta.daily_salts")
    return chosen


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path, store_mode: str, request: pytest.FixtureRequest) -> Settings:
    config = tmp_path / "sites.toml"
    config.write_text(TEST_CONFIG)
    url = request.getfixturevalue("standin").url if store_mode == "server" else None
    return Settings(data_dir=tmp_path / "data", config_path=config, flush_interval_ms=20, clickhouse_url=url)


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
