"""Segments the store refused because of their rows, and `collector spool replay`.

The writer sets such a segment aside in its spool's `quarantine/` directory (writer.py, refusals.py),
with two small files next to it: `<segment>.dup`, the duplicate-send decision made before its first
insert (so a replay inserts the same blocks), and `<segment>.stored`, the tables that had accepted
their block before the refusal (so a replay, however late, never inserts those again: the store's
deduplication window covers the last 1000 inserts of a table, not forever).

Replay reads each quarantined segment and inserts the rest of its blocks with the segment's own
deduplication tokens (`<segment>-<table>`), exactly as the writer would have: run it once the cause
is fixed (a column type corrected by a migration, say). A segment the store still refuses stays in
quarantine with its reason; a stored one is deleted.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from . import duplicates, refusals
from .metrics import Metrics
from .segments import SUFFIX
from .spool import QUARANTINE
from .writer import STORED, TABLES, blocks, insert_segment, sum_drops


def segments(spool_root: Path) -> list[Path]:
    """Every quarantined segment of a data dir's spools (the single process's or owner's, and each
    worker's), oldest first within each spool."""
    spools = [spool_root, *sorted(p for p in spool_root.glob("worker-*") if p.is_dir())]
    return [path for spool in spools for path in sorted((spool / QUARANTINE).glob("*" + SUFFIX))]


def count(spool_root: Path) -> int:
    """How many segments are in quarantine (the gauge an alert watches)."""
    return len(segments(spool_root))


@dataclass
class Outcome:
    segment: str
    rows: dict[str, int]
    stored_before: list[str]
    result: str  # "would insert", "stored", or "refused: <ClickHouse error>"
    tokens: list[str] = field(default_factory=list)


class _Undecided:
    """A store stand-in for a decision made at replay time (a segment quarantined without one): no
    lookup, so rows this very segment stored before are not taken for duplicates of themselves."""

    sole_writer = True

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return []


def replay(store: Any, paths: list[Path], *, dry_run: bool, drop_retention: Callable[[str], int],
           metrics: Metrics | None = None, today: str | None = None) -> list[Outcome]:
    """Insert each quarantined segment's blocks not yet stored, with its tokens; delete the segments
    stored. A failure that is not the block's fault (the store down or busy) stops the replay and is
    raised: what is left stays in quarantine for the next run."""
    metrics = metrics or Metrics()
    day = today or dt.datetime.now(dt.UTC).date().isoformat()
    out = []
    for path in paths:
        tables = blocks(path.read_bytes())
        before_file = path.with_suffix(STORED)
        before = orjson.loads(before_file.read_bytes()) if before_file.exists() else []
        sidecar = path.with_suffix(".dup")
        decision = sidecar if sidecar.exists() or not dry_run else None  # a dry run writes nothing
        prepared = duplicates.Deduplicator(_Undecided()).prepare(tables, decision, day, drop_retention)
        blocks_ = sum_drops(prepared.tables)
        rows = {t.split(".")[-1]: b.count(b"\n") + 1 for t, b in blocks_.items() if b and t not in before}
        outcome = Outcome(path.stem, rows, sorted(before), "would insert",
                          [f"{path.stem}-{t}" for t in TABLES if blocks_.get(t) and t not in before])
        out.append(outcome)
        if dry_run:
            continue
        stored: list[str] = []
        try:
            insert_segment(store, metrics, path.stem, blocks_, stored, skip=before)
        except Exception as exc:
            if refusals.block_code(exc) is None:
                raise
            _write(before_file, orjson.dumps(sorted(set(stored) | set(before))))
            outcome.result = f"refused: {refusals.label(exc)}"
            continue
        outcome.result = "stored"
        for leftover in (path, sidecar, before_file):
            leftover.unlink(missing_ok=True)
    return out


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        os.fsync(f.fileno())
    os.replace(tmp, path)
