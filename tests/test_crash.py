"""Crash: SIGKILL a loaded collector at random moments, several times, restart it each time; every event
that got a 202 is stored exactly once (the spool replays what was not yet inserted, and the segment's
deduplication token drops what was)."""

from __future__ import annotations

import random
from pathlib import Path

from live import Collector, Load, wait_for

KILLS = 4


def test_sigkill_under_load_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    # Small, frequent segments: kills land before, during and after inserts and segment removal.
    server = Collector(tmp_path, COLLECTOR_FLUSH_INTERVAL_MS="30", COLLECTOR_FLUSH_ROWS="200").start()
    with Load(lambda: server.url, "/crash/", threads=4) as load:
        for _ in range(KILLS):
            target = load.count() + rng.randrange(50, 400)  # a random point in the load, not a sleep
            wait_for(lambda t=target: load.count() >= t, 120, "acknowledged events")  # type: ignore[misc]
            server.kill()
            server.start()
        target = load.count() + 100
        wait_for(lambda: load.count() >= target, 120, "acknowledged events after the last restart")
    assert server.stop() == 0
    stored = server.path_counts("/crash/")
    acked = set(load.acked)
    assert len(acked) == len(load.acked), "a path was acknowledged twice"
    missing = acked - set(stored)
    duplicated = {p: n for p, n in stored.items() if n > 1}
    print(f"seed={seed} kills={KILLS} acked={len(acked)} stored={len(stored)} unacked_stored="
          f"{len(set(stored) - acked)} statuses={load.statuses}")
    assert not missing, f"seed {seed}: {len(missing)} acknowledged events lost"
    assert not duplicated, f"seed {seed}: duplicates {list(duplicated.items())[:5]}"
    assert load.statuses.get(202, 0) > 0 and set(load.statuses) <= {202, 503, "error"}
