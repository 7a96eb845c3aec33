"""Daily salts: random, today's and yesterday's only, persisted so a restart keeps the day's visitors."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from pathlib import Path

from conftest import Clock

from collector.salt_table import TABLE, TableKeeper
from collector.salts import Salts, fingerprint
from collector.store import Store


def test_salts_rotate_daily_and_keep_two(tmp_path: Path) -> None:
    clock = Clock(now=1_790_000_000.0)
    salts = Salts(tmp_path, clock)
    day1 = salts.for_time(clock.now)
    clock.advance(86400)
    day2 = salts.for_time(clock.now)
    assert day1 != day2 and len(day1) == 32
    assert salts.for_time(clock.now - 86400) == day1  # yesterday's events still hash with yesterday's salt
    clock.advance(86400)
    salts.for_time(clock.now)
    assert day1 not in salts.held().values() and len(salts.held()) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{d}.salt" for d in ("2026-09-22", "2026-09-23"))


def test_restart_reuses_the_days_salt(tmp_path: Path) -> None:
    clock = Clock(now=1_790_000_000.0)
    first = Salts(tmp_path, clock).for_time(clock.now)
    assert Salts(tmp_path, clock).for_time(clock.now) == first


def test_memory_only_salts(tmp_path: Path) -> None:
    clock = Clock(now=1_790_000_000.0)
    salts = Salts(None, clock)
    assert len(salts.for_time(clock.now)) == 32 and not any(tmp_path.iterdir())


def test_fingerprint_does_not_reveal_the_salt() -> None:
    salt = bytes(range(32))
    assert salt.hex() not in fingerprint(salt) and len(fingerprint(salt)) == 12


def _salt_of_a_new_process(directory: str, now: float) -> str:
    return Salts(Path(directory), lambda: now).for_time(now).hex()


def test_processes_sharing_a_data_dir_agree_on_the_days_salt(tmp_path: Path) -> None:
    """Four processes start at once on an empty salts dir: the lock makes them read one salt."""
    now = Clock().now
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        salts = pool.starmap(_salt_of_a_new_process, [(str(tmp_path), now)] * 8)
    assert len(set(salts)) == 1
    assert len(list(tmp_path.glob("*.salt"))) == 2


def test_server_mode_salts_are_one_per_day_for_every_process_and_destroyed_provably(session_store: Store) -> None:
    """The table keeper on real ClickHouse SQL (the embedded engine): two collectors read the same
    salt; three days later the first day's partition is dropped and system.parts holds none of its rows."""
    clock = Clock()
    keeper = TableKeeper(session_store)
    try:
        first, second = Salts(keeper, clock), Salts(TableKeeper(session_store), clock)
        day1 = first.for_time(clock.now)
        assert second.for_time(clock.now) == day1 and first.held() == second.held()
        partition = time.strftime("%Y%m%d", time.gmtime(clock.now))
        assert keeper.rows_on_disk(partition) == 1
        clock.advance(3 * 86400)
        first.rotate()
        second.rotate()
        assert first.held() == second.held() and day1 not in first.held().values()
        assert keeper.rows_on_disk(partition) == 0
        stored = session_store.query(f"SELECT count(), uniqExact(day) FROM {TABLE}")
        assert stored == [(2, 2)]  # today's and yesterday's only
    finally:
        session_store.command(f"DROP TABLE IF EXISTS {TABLE}")


def test_a_lost_race_converges_on_the_first_stored_salt(session_store: Store) -> None:
    """Two rows for one day (two machines that inserted at once): both processes use the first stored."""
    clock = Clock()
    keeper = TableKeeper(session_store)
    try:
        day = int(clock.now // 86400)
        mine = keeper.load_or_create(day)
        session_store.client.insert(TABLE, [[dt.date(1970, 1, 1) + dt.timedelta(days=day), b"x" * 32]],
                                    column_names=["day", "salt"])
        assert keeper.load_or_create(day) == mine
    finally:
        session_store.command(f"DROP TABLE IF EXISTS {TABLE}")
