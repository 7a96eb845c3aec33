"""Overload: a burst far above a site's limit and the collector's capacity gets only 202, 429 and 503
(each refusal with Retry-After), the server's memory stays bounded, and a second site keeps succeeding."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path

import httpx
import orjson
from conftest import FIREFOX
from live import Collector, Load

from collector.errors import ClientError
from collector.limits import Saturation, SiteLimits

# A resident set this size would mean the burst is being queued in memory instead of refused.
RSS_LIMIT_KIB = 600 * 1024


async def burst(url: str, site: str, connections: int, requests: int) -> tuple[Counter[int], int]:
    """`requests` posts of 50 events each over `connections` concurrent connections."""
    statuses: Counter[int] = Counter()
    missing_retry_after = 0
    batch = orjson.dumps([{"site": site, "type": "pageview", "url": f"https://{site}/burst/{i}", "consent": {}}
                          for i in range(50)])
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal missing_retry_after
        while not queue.empty():
            queue.get_nowait()
            r = await client.post("/api/event", content=batch,
                                  headers={"content-type": "text/plain", "user-agent": FIREFOX})
            statuses[r.status_code] += 1
            if r.status_code in (429, 503) and not r.headers.get("retry-after", "").isdigit():
                missing_retry_after += 1

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    return statuses, missing_retry_after


def test_burst_gets_only_202_429_503_bounded_memory_and_the_other_site_succeeds(tmp_path: Path) -> None:
    server = Collector(tmp_path, COLLECTOR_SITE_RATE_PER_S="500", COLLECTOR_MAX_INFLIGHT="16",
                       COLLECTOR_SHUTDOWN_DRAIN_MS="0").start()
    rss: list[int] = [server.rss_kib()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            rss.append(server.rss_kib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with Load(lambda: server.url, "/quiet/", threads=1, batch=1, site="country.example") as quiet:
        statuses, missing = asyncio.run(burst(server.url, "test.example", connections=64, requests=1500))
    done.set()
    sampler.join()
    assert server.stop() == 0
    print(f"noisy site: {dict(statuses)} (x50 events); quiet site: {quiet.statuses}; "
          f"RSS KiB start={rss[0]} max={max(rss)}")
    assert set(statuses) <= {202, 429, 503} and statuses[429] > 0 and statuses[202] > 0
    assert missing == 0
    assert quiet.statuses.keys() == {202} and quiet.count() > 0  # the second site never refused
    assert max(rss) < RSS_LIMIT_KIB
    stored = server.path_counts("/quiet/")
    assert set(stored) == set(quiet.acked)


def test_site_limit_is_per_site_and_says_when_to_come_back() -> None:
    now = [0.0]
    limits = SiteLimits(10, 20, ["a", "b"], clock=lambda: now[0])
    limits.take({"a": 20})
    try:
        limits.take({"a": 5})
        raise AssertionError("expected a 429")
    except ClientError as exc:
        assert (exc.status, exc.retry_after_s) == (429, 1)
    limits.take({"b": 20})  # b has its own bucket
    now[0] += 1.0
    limits.take({"a": 10})  # refilled at 10 events/s
    limits.take({"x": 20, "y": 0})  # unknown sites share one bucket...
    try:
        limits.take({"z": 1})  # ...so inventing site ids buys nothing
        raise AssertionError("expected a 429")
    except ClientError as exc:
        assert exc.status == 429


def test_saturation_keeps_half_the_slots_for_other_sites() -> None:
    sat = Saturation(4)
    with sat.slot({"a"}), sat.slot({"a"}):
        try:
            with sat.slot({"a"}):
                raise AssertionError("a third slot for site a")
        except ClientError as exc:
            assert (exc.status, exc.retry_after_s) == (503, 1)
        with sat.slot({"b"}), sat.slot({"b"}):
            try:
                with sat.slot({"c"}):
                    raise AssertionError("over the global cap")
            except ClientError as exc:
                assert exc.status == 503
    assert sat.inflight == 0
