"""Store outage: the raw table is detached (a real engine error on every insert, not a fake) while a
steady load keeps arriving over HTTP; every acknowledged event is stored exactly once after it is
attached again, and when the spool reaches its cap the answer is 503 with Retry-After, never a 202."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import orjson
from conftest import FIREFOX, Api, event, serve

from collector.store import Store


@contextmanager
def detached(store: Store, table: str = "analytics.events") -> Iterator[None]:
    store.command(f"DETACH TABLE {table}")
    try:
        yield
    finally:
        store.command(f"ATTACH TABLE {table}")


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.01)


class Load:
    """One client thread posting 1-3 uniquely-pathed events per request; remembers what got a 202."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acked: list[str] = []
        self.statuses: dict[int, int] = {}
        self.retry_after_missing = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            i = 0
            while not self._stop.is_set():
                paths = [f"/outage/{i}/{k}" for k in range(1 + i % 3)]
                body = orjson.dumps([event(url=f"https://test.example{p}") for p in paths])
                r = client.post("/api/event", content=body, headers={"content-type": "application/json",
                                                                     "user-agent": FIREFOX})
                self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
                if r.status_code == 202:
                    self.acked += paths
                elif "retry-after" not in r.headers:
                    self.retry_after_missing += 1
                i += 1


def stored_paths(api: Api) -> dict[str, int]:
    return dict(api.rows("SELECT path, count() FROM analytics.events WHERE path LIKE '/outage/%' GROUP BY path"))


def test_outage_under_load_loses_and_duplicates_nothing(make_api: Callable[..., Api], store: Store) -> None:
    api = make_api(retry_max_ms=100)
    errors = lambda: api.collector.metrics.get("collector_flush_errors_total")  # noqa: E731
    with serve(api.client.app) as url, Load(url) as load:
        wait_for(lambda: len(load.acked) >= 50)
        with detached(store):
            before = len(load.acked)
            wait_for(lambda: errors() >= 3 and len(load.acked) >= before + 200)
            during = len(load.acked) - before
            assert api.collector.writer.depth > 0  # the spool holds what the store refused
        after = len(load.acked)
        wait_for(lambda: len(load.acked) >= after + 50)
    assert load.statuses.keys() == {202}
    stored = stored_paths(api)
    assert during >= 200
    assert set(stored) == set(load.acked) and len(load.acked) == len(set(load.acked))
    assert max(stored.values()) == 1  # 0 duplicates
    views = api.rows("SELECT sum(views) FROM analytics.pages_daily WHERE path LIKE '/outage/%'")[0][0]
    assert views == len(load.acked)  # the views fed by the re-attached table did not double or miss


def test_spool_cap_answers_503_never_a_false_202(make_api: Callable[..., Api], store: Store) -> None:
    api = make_api(retry_max_ms=100, spool_max_bytes=32 * 1024)
    acked, refused = [], 0
    with detached(store):
        for i in range(400):
            r = api.send(event(url=f"https://test.example/outage/{i}/0"))
            if r.status_code == 202:
                acked.append(f"/outage/{i}/0")
            else:
                assert r.status_code == 503 and r.json()["error"] == "overloaded"
                assert int(r.headers["retry-after"]) > 0
                refused += 1
        assert refused > 0 and acked
    assert api.collector.writer.drain(timeout_s=30)
    stored = stored_paths(api)
    assert sorted(stored) == sorted(acked) and set(stored.values()) == {1}
    assert api.collector.metrics.get("collector_requests_rejected_total", error="overloaded") == refused
