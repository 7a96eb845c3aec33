"""Daily salts for the anonymous tier: random, one per UTC day, only today's and yesterday's exist.

Salts are kept in memory and, so that a restart does not split a day's visitors, in one small file
per day under <data dir>/salts. A salt older than yesterday is destroyed: its file is overwritten
with zeros, synced and unlinked, and dropped from memory. Salts are never logged; only a short hash
of one may appear in diagnostics.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("collector.salts")
SALT_BYTES = 32
Clock = Callable[[], float]


def _day(ts: float) -> int:
    """UTC day number since the epoch."""
    return int(ts // 86400)


def _date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


def fingerprint(salt: bytes) -> str:
    """A short, non-reversible label for a salt, safe to log."""
    return hashlib.sha256(b"salt-fingerprint" + salt).hexdigest()[:12]


def _destroy(path: Path) -> None:
    try:
        with open(path, "r+b") as f:
            f.write(b"\0" * max(SALT_BYTES, os.fstat(f.fileno()).st_size))
            f.flush()
            os.fsync(f.fileno())
        path.unlink()
    except FileNotFoundError:
        pass


class Salts:
    def __init__(self, directory: Path | None, clock: Clock) -> None:
        self._dir = directory
        self._clock = clock
        self._salts: dict[int, bytes] = {}
        self._today = -1
        # rotate() also runs on a timer thread (so a quiet day still destroys old salts); for_time on the loop.
        self._lock = threading.Lock()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.rotate()

    def rotate(self) -> None:
        """Make sure today's and yesterday's salts exist and destroy every older one."""
        with self._lock:
            self._rotate()

    def _rotate(self) -> None:
        today = _day(self._clock())
        keep = {today, today - 1}
        for day in list(self._salts):
            if day not in keep:
                del self._salts[day]
        if self._dir is not None:
            kept = {_date(day).isoformat() for day in keep}
            for path in self._dir.glob("*.salt"):
                if path.stem not in kept:
                    _destroy(path)
                    log.info("salt destroyed", extra={"day": path.stem})
        for day in keep:
            if day not in self._salts:
                self._salts[day] = salt = self._load_or_create(day)
                log.info("salt ready", extra={"day": _date(day).isoformat(), "fingerprint": fingerprint(salt)})
        self._today = today

    def _load_or_create(self, day: int) -> bytes:
        if self._dir is None:
            return secrets.token_bytes(SALT_BYTES)
        path = self._dir / f"{_date(day).isoformat()}.salt"
        try:
            salt = path.read_bytes()
            if len(salt) == SALT_BYTES:
                return salt
        except FileNotFoundError:
            pass
        salt = secrets.token_bytes(SALT_BYTES)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, salt)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return salt

    def for_time(self, ts: float) -> bytes:
        """The salt of the UTC day of `ts` (today's if that day's salt no longer exists)."""
        if _day(self._clock()) != self._today:
            self.rotate()
        with self._lock:
            return self._salts.get(_day(ts)) or self._salts[self._today]

    def held(self) -> dict[int, bytes]:
        with self._lock:
            return dict(self._salts)
