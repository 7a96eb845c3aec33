"""Daily salts for the anonymous tier: random, one per UTC day, only today's and yesterday's exist.

Salts are kept in memory and, so that a restart does not split a day's visitors and every process
hashes a visitor alike, by a keeper every process reaches: one small file per day under
<data dir>/salts, created and destroyed under an exclusive lock, so the processes of one machine
(`serve --workers N`) read the one salt the first of them wrote (FileKeeper); or, in server mode, a
ClickHouse table (collector/salt_table.py). A salt older than yesterday is destroyed: its file is
overwritten with zeros, synced and unlinked, and dropped from memory. Every rotation (on the day's
first event, and on the housekeeping beat) reads the keeper again, which is the short cache of the
table keeper. Salts are never logged; only a short hash of one may appear in diagnostics.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

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


class Keeper(Protocol):
    """Where the salts live, for every process that must agree on them."""

    def load_or_create(self, day: int) -> bytes:
        """The salt of `day`: the one stored, or a new random one stored first (by whoever came first)."""

    def destroy_except(self, keep: set[int]) -> list[int]:
        """Destroy every stored salt of a day not in `keep`; the days destroyed."""


class MemoryKeeper:
    """No storage: salts live and die with the process (tests, tools)."""

    def load_or_create(self, day: int) -> bytes:
        return secrets.token_bytes(SALT_BYTES)

    def destroy_except(self, keep: set[int]) -> list[int]:
        return []


class FileKeeper:
    """One file per day in a directory; an exclusive lock on the directory itself makes create-or-read
    and destroy atomic across the processes sharing the data dir (and leaves no lock file beside the salts)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def load_or_create(self, day: int) -> bytes:
        path = self.dir / f"{_date(day).isoformat()}.salt"
        with self._locked():
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

    def destroy_except(self, keep: set[int]) -> list[int]:
        kept = {_date(day).isoformat() for day in keep}
        destroyed = []
        with self._locked():
            for path in self.dir.glob("*.salt"):
                if path.stem not in kept:
                    _destroy(path)
                    destroyed.append((dt.date.fromisoformat(path.stem) - dt.date(1970, 1, 1)).days)
        return destroyed


class Salts:
    """Today's and yesterday's salts in memory, read from `keeper` (a directory: a FileKeeper there;
    None: memory only) at each rotation."""

    def __init__(self, keeper: Keeper | Path | None, clock: Clock) -> None:
        self._keeper: Keeper = (MemoryKeeper() if keeper is None else
                                FileKeeper(keeper) if isinstance(keeper, Path) else keeper)
        self._clock = clock
        self._salts: dict[int, bytes] = {}
        self._today = -1
        # rotate() also runs on a timer thread (so a quiet day still destroys old salts); for_time on the loop.
        self._lock = threading.Lock()
        self.rotate()

    def rotate(self) -> None:
        """Make sure today's and yesterday's salts exist, read them again from the keeper (another
        process may have stored them first) and destroy every older one."""
        with self._lock:
            self._rotate()

    def _rotate(self) -> None:
        today = _day(self._clock())
        keep = {today, today - 1}
        for day in list(self._salts):
            if day not in keep:
                del self._salts[day]
        for day in self._keeper.destroy_except(keep):
            log.info("salt destroyed", extra={"day": _date(day).isoformat()})
        for day in sorted(keep):
            salt = self._keeper.load_or_create(day)
            if self._salts.get(day) != salt:
                self._salts[day] = salt
                log.info("salt ready", extra={"day": _date(day).isoformat(), "fingerprint": fingerprint(salt)})
        self._today = today

    def for_time(self, ts: float) -> bytes:
        """The salt of the UTC day of `ts` (today's if that day's salt no longer exists)."""
        if _day(self._clock()) != self._today:
            self.rotate()
        with self._lock:
            return self._salts.get(_day(ts)) or self._salts[self._today]

    def held(self) -> dict[int, bytes]:
        with self._lock:
            return dict(self._salts)
