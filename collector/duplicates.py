"""Duplicate sends: an event whose `event_id` the site already stored within the dedup window is
acknowledged but not stored again, and counted as Reason.DUPLICATE (metrics and dropped_daily).

Where: in the writer, before the insert, because the writer is the one place every event passes in
order — in embedded mode one writer owns the store (the `--workers N` mode hands it every worker's
rows), in server mode every collector's writer asks ClickHouse about the keys of each batch.

- The key is a 64-bit key of (site, event_id) (see key_of). The pipeline step `dedup_key` appends the event_id to
  the event's row as a trailing `"k:<id>"` value; the writer hashes it and strips it before the insert
  (the hash costs the writer thread ~1 us, not the event loop). Events without an id carry nothing and
  are never touched.
- Stored keys go to `analytics.event_ids` (site, key, inserted time; kept one day, ordered by key) in the
  same segment insert as the events, with the same deduplication token.
- RecentKeys, an in-memory window of the keys stored in the last WINDOW_S (at most MAX_KEYS, 78 bytes
  each: 19.5 MB measured), is rebuilt from `event_ids` at startup. In server mode the keys of a batch not
  in memory are also looked up in `event_ids` (a primary-key lookup), so collectors on other machines see
  each other's events once stored; in embedded mode too while more keys arrived within the window than
  memory holds (above ~70 keyed events/s sustained for the hour).
- The decision for a durable spool segment is written next to it (`<segment>.dup`) before the first
  insert attempt, so a replay after a crash makes the same decision and inserts the same blocks: the
  deduplication token then drops what was already stored, and nothing is counted twice.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .event import Event

log = logging.getLogger("collector.duplicates")
EVENTS = "analytics.events"
IDS = "analytics.event_ids"
ID_COLUMNS = ("site", "key", "inserted")
# Retries (sendBeacon after fetch, a proxy retry, a double click) come within seconds or minutes.
WINDOW_S = 3600
MAX_KEYS = 250_000
_MARK = b'"k:'


def key_of(site: bytes, event_id: bytes) -> int:
    """A stable 64-bit key for (site as it appears in the JSON row, event_id), the same in every process
    and machine, never 0. The id is a client-made UUID (the schema checks it), already 122 random bits:
    its two halves folded together and mixed with a hash of the site (5x cheaper than hashing it)."""
    try:
        digits = event_id.replace(b"-", b"")
        return (int(digits[:16], 16) ^ int(digits[16:], 16) ^ _site_key(site)) or 1
    except ValueError:  # not hexadecimal: hash it whole
        return int.from_bytes(hashlib.blake2b(site + b"\0" + event_id.lower(), digest_size=8).digest(), "big") or 1


@functools.lru_cache(maxsize=4096)
def _site_key(site: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(site, digest_size=8, person=b"event-ids").digest(), "big")


def dedup_key(event: Event, ctx: object) -> Event:
    """Pipeline step, after to_row: a raw event with an event_id carries it to the writer, which hashes
    it with the site (off the event loop) and strips it before the insert."""
    if event.event_id and event.table == EVENTS:
        event.row.append("k:" + event.event_id)  # type: ignore[union-attr]
    return event


def split_keys(block: bytes) -> tuple[list[bytes], list[int], list[bytes]]:
    """An events block as its rows without the trailing event id, their keys (0 for a row without) and
    their sites as JSON string contents."""
    heads, keys, sites = [], [], []
    for line in block.split(b"\n"):
        pos = line.rfind(b",")
        if line.startswith(_MARK, pos + 1):
            site = _site(line)
            keys.append(key_of(site, line[pos + 4:-2]))
            heads.append(line[:pos] + b"]")
            sites.append(site)
        else:
            keys.append(0)
            heads.append(line)
            sites.append(b"")
    return heads, keys, sites


def _site(row: bytes) -> bytes:
    """The first value of a JSON row (the site) as its JSON string contents: up to the first quote not
    escaped by an odd run of backslashes."""
    end = row.index(b'"', 2)
    while (end - 2 - len(row[2:end].rstrip(b"\\"))) % 2:
        end = row.index(b'"', end + 1)
    return row[2:end]


class RecentKeys:
    """The keys stored in the last `window_s` seconds, at most about `max_keys` of them."""

    def __init__(self, window_s: float = WINDOW_S, max_keys: int = MAX_KEYS) -> None:
        self.window_s, self.max_keys = window_s, max_keys
        self._batches: deque[tuple[float, list[int]]] = deque()
        self._keys: set[int] = set()
        self.saturated = False

    def __contains__(self, key: int) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, keys: list[int], at: float) -> None:
        if keys:
            self._batches.append((at, keys))
            self._keys.update(keys)
        while self._batches and (self._batches[0][0] < at - self.window_s or len(self._keys) > self.max_keys):
            when, old = self._batches.popleft()
            self._keys.difference_update(old)
            self.saturated = when >= at - self.window_s  # evicted by size: the memory covers less than the window


@dataclass(slots=True)
class Prepared:
    """A segment's blocks after the dedup decision, and the keys to remember once they are stored."""

    tables: dict[str, bytes]
    kept: list[int] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)


class Deduplicator:
    """The writer's dedup state. `prepare` decides (or re-reads the decision of) one segment; `stored`
    remembers its keys once every table accepted it. Used by the writer thread only."""

    def __init__(self, store: Any, clock: Callable[[], float] = time.time, window: RecentKeys | None = None) -> None:
        self._store = store
        self._clock = clock
        self.window = window if window is not None else RecentKeys()

    def rebuild(self) -> int:
        """Load the keys stored within the window (startup); how many."""
        rows = self._store.query(
            "SELECT key FROM analytics.event_ids WHERE inserted >= now() - toIntervalSecond({w:UInt32}) "
            "ORDER BY inserted DESC LIMIT {n:UInt32}", {"w": int(self.window.window_s), "n": self.window.max_keys})
        self.window.add([int(row[0]) for row in rows], self._clock())  # the newest MAX_KEYS, as one batch
        return len(rows)

    def prepare(self, tables: dict[str, bytes], sidecar: Path | None, day: str,
                drop_retention: Callable[[str], int]) -> Prepared:
        block = tables.get(EVENTS)
        if not block or _MARK not in block:
            return Prepared(tables)
        heads, keys, sites = split_keys(block)
        dropped, now_s = self._decision(keys, sidecar)
        kept_rows, kept_keys, id_rows, duplicates = [], [], [], Counter[str]()
        suffix = b",%d]" % now_s
        for i, (head, key, site) in enumerate(zip(heads, keys, sites, strict=True)):
            if i in dropped:
                duplicates[orjson.loads(b'"' + site + b'"')] += 1
                continue
            kept_rows.append(head)
            if key:
                kept_keys.append(key)
                id_rows.append(b'["' + site + b'",' + str(key).encode() + suffix)
        out = {**tables, EVENTS: b"\n".join(kept_rows)}
        if id_rows:
            out[IDS] = b"\n".join(id_rows)
        if duplicates:
            lines = [orjson.dumps([site, day, "duplicate", n, drop_retention(site)]) for site, n in duplicates.items()]
            out["analytics.dropped_daily"] = b"\n".join(filter(None, [tables.get("analytics.dropped_daily", b""),
                                                                     *lines]))
        return Prepared(out, kept_keys, duplicates)

    def stored(self, prepared: Prepared) -> None:
        self.window.add(prepared.kept, self._clock())

    def _decision(self, keys: list[int], sidecar: Path | None) -> tuple[set[int], int]:
        """Indexes of the rows already stored, and the time of the decision (the rows' `inserted`): read
        back for a segment decided before (a replay), so its blocks are the same bytes again."""
        if sidecar is not None and sidecar.exists():
            decided = orjson.loads(sidecar.read_bytes())
            return set(decided["dropped"]), int(decided["at"])
        now_s = int(self._clock())
        candidates = [k for k in keys if k and k not in self.window]
        # Server mode and embedded workers: other processes' keys are only in the table. One embedded
        # process: the memory holds every key of the window, unless more than MAX_KEYS arrived within it;
        # then the table answers for the rest.
        lookup = candidates and (not self._store.sole_writer or self.window.saturated)
        known = self._lookup(candidates) if lookup else set()
        seen: set[int] = set()
        dropped = set()
        for i, key in enumerate(keys):
            if not key:
                continue
            if key in self.window or key in known or key in seen:
                dropped.add(i)
            seen.add(key)
        if sidecar is not None:
            _write_synced(sidecar, orjson.dumps({"dropped": sorted(dropped), "at": now_s}))
        return dropped, now_s

    def _lookup(self, keys: list[int]) -> set[int]:
        """Server mode: which of `keys` another collector stored within the window. A failed lookup (the
        server is down, or the ingest user may not read) decides from the window alone: storing a rare
        duplicate is better than holding the segment back."""
        try:
            rows = self._lookup_rows(keys)
        except Exception as exc:
            log.warning("dedup lookup failed; deciding from the window", extra={"error": type(exc).__name__})
            return set()
        return {int(r[0]) for r in rows}

    def _lookup_rows(self, keys: list[int]) -> list[tuple[Any, ...]]:
        return list(self._store.query(
            "SELECT DISTINCT key FROM analytics.event_ids WHERE key IN {keys:Array(UInt64)} "
            "AND inserted >= now() - toIntervalSecond({w:UInt32})", {"keys": keys, "w": int(self.window.window_s)}))


def _write_synced(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
