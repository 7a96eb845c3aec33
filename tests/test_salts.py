"""Daily salts: random, today's and yesterday's only, persisted so a restart keeps the day's visitors."""

from __future__ import annotations

from pathlib import Path

from conftest import Clock

from collector.salts import Salts, fingerprint


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
