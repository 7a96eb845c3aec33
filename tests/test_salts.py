"""Daily salts: random, today's and yesterday's only, persisted so a restart keeps the day's visitors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Clock
from writes import files_written

from collector import salts as salts_mod
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
    monkeypatch.setattr(Salts, "_load_or_create", lambda self, day: _persisted(tmp_path / "leak.salt"))
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
