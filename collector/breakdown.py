"""The bot breakdown: dropped bots counted per site, UTC day, category and family into
analytics.bots_daily. Category and family come from the closed table in agents.py, never from the
user agent's text, so the table holds nothing about a visitor and its size is bounded.

Counted in memory by the pipeline and written as one row per key by the consent worker's beat (every
minute and at shutdown), like the opt-out signal receipts: a crash loses at most the last minute of
this breakdown, never the `bot` count itself (which goes to dropped_daily with the request).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

TABLE = "analytics.bots_daily"
COLUMNS: tuple[str, ...] = ("site", "day", "category", "family", "events", "retention_days")


class BotLedger:
    """Counts of dropped bots per (site, day number, category, family), drained into rows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, int, str, str]] = Counter()
        self._retention: dict[str, int] = {}

    def add(self, site: str, ts_s: int, category: str, family: str, retention_days: int) -> None:
        with self._lock:
            self._counts[(site, ts_s // 86_400, category, family)] += 1
            self._retention[site] = retention_days

    def drain(self) -> list[tuple[str, list[Any]]]:
        """(table, row) pairs for everything counted since the last drain."""
        with self._lock:
            counts, retention = self._counts, self._retention
            self._counts, self._retention = Counter(), {}
        epoch = dt.date(1970, 1, 1).toordinal()
        return [(TABLE, [site, dt.date.fromordinal(epoch + day).isoformat(), category, family, n, retention[site]])
                for (site, day, category, family), n in sorted(counts.items())]


def writer_chore(ledger: BotLedger, submit: Callable[[list[tuple[str, list[Any]]]], None]) -> Callable[[], None]:
    """A job for the consent worker's beat: write what the ledger counted."""

    def chore() -> None:
        rows = ledger.drain()
        if rows:
            submit(rows)

    return chore
