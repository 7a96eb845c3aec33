"""Withdrawn visitor ids: after a visitor withdraws consent, events that still carry their old first-party
id (a tab left open, a cached tracker) are stored at the site's no-consent tier, never at the full tier.

The set holds only pseudonymous ids — the HMAC the full tier stores (`visitor_id`), never the browser's
own id — of the visitors whose latest consent receipt is a withdrawal. It is derived from
`analytics.consent_receipts`, which every process writes and which survives restarts:

- loaded at startup, over the longest raw retention of the configured sites (an event with an older id
  could not be joined to anything still stored anyway);
- changed in memory at once when this process sees a withdrawal or a new grant (the pipeline step);
- reloaded every housekeeping beat (a minute), so a withdrawal another process or machine received is
  honoured here within a minute of being stored. Changes seen here since shortly before the reload
  started are applied again on top, so a withdrawal still in this process's spool is not forgotten.

Memory: about 100 bytes per withdrawn id (a Python int in a per-site set).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

# Local changes younger than this are re-applied after a reload: longer than a spool flush plus an insert.
_REAPPLY_S = 300.0


class Withdrawn:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self.ids: dict[str, set[int]] = {}  # site -> withdrawn visitor ids; replaced whole on reload
        self._local: list[tuple[float, str, int, bool]] = []  # (when, site, visitor id, withdrawn)
        self._clock = clock

    def __contains__(self, key: tuple[str, int]) -> bool:
        ids = self.ids.get(key[0])
        return ids is not None and key[1] in ids

    def __len__(self) -> int:
        return sum(map(len, self.ids.values()))

    def record(self, site: str, visitor_id: int, withdrawn: bool) -> None:
        """A consent choice this process saw: a withdrawal adds the id, a grant removes it."""
        with self._lock:
            self._set(site, visitor_id, withdrawn)
            now = self._clock()
            self._local = [c for c in self._local if c[0] > now - _REAPPLY_S]
            self._local.append((now, site, visitor_id, withdrawn))

    def load(self, store: Any, days: int) -> int:
        """Replace the set with the ids whose latest receipt within `days` is a withdrawal; how many."""
        started = self._clock()
        rows = store.query(
            "SELECT site, visitor_id FROM analytics.consent_receipts "
            "WHERE visitor_id != 0 AND ts >= now() - toIntervalDay({days:UInt32}) "
            # a tie within one second counts as a withdrawal (withdraw = 2 > grant = 1): the safe side
            "GROUP BY site, visitor_id HAVING argMax(action, (ts, action)) = 'withdraw'", {"days": days})
        ids: dict[str, set[int]] = {}
        for site, visitor_id in rows:
            ids.setdefault(site, set()).add(int(visitor_id))
        with self._lock:
            self.ids = ids
            for when, site, visitor_id, withdrawn in self._local:
                if when > started - _REAPPLY_S:
                    self._set(site, visitor_id, withdrawn)
        return len(rows)

    def _set(self, site: str, visitor_id: int, withdrawn: bool) -> None:
        if withdrawn:
            self.ids.setdefault(site, set()).add(visitor_id)
        elif site in self.ids:
            self.ids[site].discard(visitor_id)
