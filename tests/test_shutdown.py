"""Graceful shutdown: on SIGTERM /readyz answers 503 before the listener closes (so within the 1 s drain
period), new ingest requests are refused with 503 + Retry-After, the buffer is flushed, the exit code is
0, and every acknowledged event is stored, in spool and in memory durability."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest
from live import Collector, Load, wait_for


def readiness(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code
    except httpx.HTTPError:
        return None  # the listener is closed


@pytest.mark.parametrize("durability", ["spool", "memory"])
def test_sigterm_flips_readiness_refuses_new_requests_and_flushes(tmp_path: Path, durability: str) -> None:
    # A long flush interval: without the shutdown flush the last events would still be buffered.
    server = Collector(tmp_path, COLLECTOR_DURABILITY=durability, COLLECTOR_FLUSH_INTERVAL_MS="60000",
                       COLLECTOR_SHUTDOWN_DRAIN_MS="1000").start()
    assert server.proc is not None
    with Load(lambda: server.url, "/term/", threads=2) as load:
        wait_for(lambda: load.count() >= 100, 60, "acknowledged events")
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        seen = [readiness(server.url)]
        while seen[-1] == 200:
            seen.append(readiness(server.url))
        flipped_after_s = time.monotonic() - signalled
        # The first answer after 200 is a 503 from a live server, not a refused connection: readiness
        # flipped before the listener closed, i.e. within the drain period of 1 s.
        assert seen[-1] == 503, seen
        late = httpx.post(f"{server.url}/api/event", content=b"{}", headers={"content-type": "application/json"})
        assert late.status_code == 503 and late.json()["error"] == "shutting_down" and late.headers["retry-after"]
        assert server.proc.wait(60) == 0
    print(f"durability={durability} readiness flipped after {flipped_after_s * 1000:.0f} ms, "
          f"acked={load.count()} statuses={load.statuses}")
    stored = server.path_counts("/term/")
    assert set(stored) == set(load.acked) and set(stored.values()) == {1}
    assert set(load.statuses) <= {202, 503, "error"} and load.missing_retry_after == 0
    assert "Traceback" not in server.stderr()
