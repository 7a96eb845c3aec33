"""Daily salts: random, today's and yesterday's only, persisted so a restart keeps the day's visitors."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Clock
from writes import files_written

from collector import salts as salts_mod
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


def test_memory_only_salts_write_nothing_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a relative path would land here; the audit hook sees any path at all
    clock = Clock(now=1_790_000_000.0)
    with files_written() as written:
        salts = Salts(None, clock)
        today = salts.for_time(clock.now)
        clock.advance(3 * 86400)
        salts.for_time(clock.now)  # a rotation, which destroys files in durable mode
    assert len(today) == 32 and written == [] and not any(tmp_path.iterdir())


def test_the_write_check_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check on salts that forget they are memory-only: the audit hook reports the file."""
    monkeypatch.setattr(salts_mod.MemoryKeeper, "load_or_create", lambda self, day: _persisted(tmp_path / "leak.salt"))
    with files_written() as written:
        Salts(None, Clock(now=1_790_000_000.0))
    assert written and all(str(tmp_path / "leak.salt") in w for w in written)


def _persisted(path: Path) -> bytes:
    path.write_bytes(b"s" * 32)
    return b"s" * 32


def reveals(label: str, salt: bytes, digits: int = 6) -> bool:
    """Does a logged label give away any part of the salt? Any `digits` hex digits of it, in either
    direction, or the salt's bytes, count as giving it away."""
    hexed = salt.hex()
    windows = {label[i:i + digits] for i in range(len(label) - digits + 1)}
    return any(w in hexed or w in hexed[::-1] for w in windows) or salt in label.encode()


FINGERPRINTS: dict[str, Callable[[bytes], str]] = {
    "shipped": fingerprint,
    "leaks the salt's head": lambda s: s.hex()[:12],
    "leaks the salt's tail": lambda s: s.hex()[-12:],
    "leaks it reversed": lambda s: s.hex()[::-1][:12],
    "unkeyed hash of nothing": lambda s: hashlib.sha256(b"salt-fingerprint").hexdigest()[:12],
}


@pytest.mark.parametrize("name", FINGERPRINTS)
def test_fingerprint_does_not_reveal_the_salt(name: str) -> None:
    """The shipped fingerprint passes; the mutations (which a "salt.hex() not in label" check passed) fail."""
    label = FINGERPRINTS[name]
    salts = [bytes(range(32)), bytes(range(32, 64)), bytes.fromhex("ab" * 32)]
    good = (all(not reveals(label(s), s) and len(label(s)) == 12 for s in salts)
            and len({label(s) for s in salts}) == len(salts))  # still tells salts apart, or it is useless
    assert good is (name == "shipped")


def test_logs_carry_the_fingerprint_never_the_salt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger=salts_mod.log.name)
    clock = Clock(now=1_790_000_000.0)
    salts = Salts(tmp_path, clock)
    text = "\n".join(r.getMessage() + str(vars(r)) for r in caplog.records)
    for salt in salts.held().values():
        assert fingerprint(salt) in text and not reveals(text, salt, digits=16)  # random salts: no 6-digit accidents


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
