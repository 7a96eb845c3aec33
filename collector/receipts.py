"""Consent receipts: every consent choice, and every opt-out signal the collector honoured, becomes a row
of analytics.consent_receipts; a withdrawal by a consented visitor erases that visitor's data.

- A `consent` event (grant or withdraw) becomes one receipt row instead of a raw event. Its visitor id is
  the full-tier HMAC when the browser sent its first-party id, else 0. Source: the consent banner (CMP)
  signal the tracker's consent-source extension read the choice from (`gcm`, `tcf`, `klaro`,
  `cookieconsent`), else `api` (the page called pa.consent() itself, or a server did). For TCF the receipt
  also keeps the CMP id, CMP version and TCF policy version the TC data came with (never the TC string).
- A GPC or DNT signal that decides the tier of an event sent without a consent choice is counted per
  (site, day, signal, tier) and written as one receipt per interval with `requests` = the count: those
  visitors have no stable id, so a receipt per event would only repeat itself.
- A withdraw receipt with a visitor id queues an erasure of that visitor's raw events and receipts (all
  but the withdrawal itself), run by the Worker thread after the writer has stored everything queued
  before it, so no event of that visitor lands after the deletion.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .event import Event, Tier

log = logging.getLogger("collector.receipts")
TABLE = "analytics.consent_receipts"
COLUMNS: tuple[str, ...] = ("receipt_id", "site", "ts", "visitor_id", "action", "categories", "policy_version",
                            "source", "tier", "requests", "retention_days", "cmp_id", "cmp_version",
                            "tcf_policy_version")
_ACTION, _VISITOR, _RECEIPT_ID, _SITE = COLUMNS.index("action"), COLUMNS.index("visitor_id"), 0, 1
# Signal receipts are written at most this often; a restart writes what was counted so far.
SIGNAL_FLUSH_S = 60.0
# Salts are rotated on this beat too, so a quiet day still destroys the salt of the day before yesterday.
HOUSEKEEPING_S = 60.0
ERASE_ATTEMPTS = 5


def no_consent_tier(policy: Any) -> Tier:
    """The tier a visitor's events fall back to without consent: the policy's, never stricter than asked."""
    return Tier.DENIED if policy.consent == "strict" else Tier.ANONYMOUS


def _row(receipt_id: str, site: str, ts_s: int, visitor_id: int, action: str, categories: Sequence[str],
         policy_version: str, source: str, tier: Tier, requests: int, policy: Any,
         tcf: tuple[int, int, int] = (0, 0, 0)) -> list[Any]:
    return [receipt_id, site, ts_s, visitor_id, action, list(categories), policy_version, source, tier.value,
            requests, policy.receipt_retention_days, *tcf]


def receipt(event: Event, ctx: object) -> Event:
    """Pipeline step: a `consent` event becomes a receipt row (to_row then leaves it alone).

    The source and the TCF fields are what the event says (the schema bounds them); none is `api`."""
    if event.type != "consent":
        return event
    d, policy = event.data, event.policy
    full = event.tier is Tier.FULL
    action = d["action"]
    tier = Tier.FULL if full and action == "grant" else no_consent_tier(policy)
    source = d.get("source") or "api"
    tcf = (0, 0, 0)
    if source == "tcf":  # which CMP obtained the choice under which policy; the TC string never reaches here
        tcf = (d.get("cmp_id", 0), d.get("cmp_version", 0), d.get("tcf_policy_version", 0))
    event.table = TABLE
    event.row = _row(event.event_id or str(uuid.uuid4()), event.site, event.ts_ms // 1000,
                     event.visitor_id if full else 0, action, d.get("categories", []),
                     d.get("policy_version") or policy.policy_version, source, tier, 1, policy, tcf)
    return event


class SignalLedger:
    """Counts of events whose tier an opt-out signal decided, per (site, UTC day, signal, tier)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, int, str, str]] = Counter()
        self._last: dict[tuple[str, int, str, str], int] = {}
        self._policies: dict[str, Any] = {}

    def add(self, event: Event, signal: str, tier: Tier) -> None:
        ts_s = event.ts_ms // 1000
        key = (event.site, ts_s // 86400, signal, tier.value)
        with self._lock:
            self._counts[key] += 1
            self._last[key] = max(self._last.get(key, 0), ts_s)
            self._policies[event.site] = event.policy

    def drain(self) -> list[list[Any]]:
        """Receipt rows for everything counted since the last drain."""
        with self._lock:
            counts, last, policies = self._counts, self._last, self._policies
            self._counts, self._last, self._policies = Counter(), {}, {}
        rows = []
        for key, n in counts.items():
            site, _, signal, tier = key
            policy = policies[site]
            rows.append(_row(str(uuid.uuid4()), site, last[key], 0, "withdraw", ["analytics"],
                             policy.policy_version, signal, Tier(tier), n, policy))
        return rows


@dataclass(frozen=True, slots=True)
class Erasure:
    site: str
    visitor_id: int
    keep_receipt: str


def withdrawals(rows: Iterable[tuple[str, list[Any]]]) -> list[Erasure]:
    """The erasures a batch of pipeline rows asks for: withdraw receipts of identified visitors."""
    return [Erasure(row[_SITE], row[_VISITOR], row[_RECEIPT_ID]) for table, row in rows
            if table == TABLE and row[_ACTION] == "withdraw" and row[_VISITOR]]


class Sink(Protocol):
    def submit(self, rows: Sequence[tuple[str, list[Any]]]) -> None: ...
    def flush(self, timeout_s: float = 30.0) -> None: ...


class Worker:
    """One background thread for consent work the event loop must not wait on: erasures after
    withdrawals, signal receipts every SIGNAL_FLUSH_S, salt rotation every HOUSEKEEPING_S."""

    def __init__(self, erase: Callable[[Erasure], dict[str, Any]], sink: Sink, ledger: SignalLedger,
                 rotate_salts: Callable[[], None], interval_s: float = HOUSEKEEPING_S,
                 chores: Sequence[Callable[[], object]] = ()) -> None:
        self._erase = erase
        self._sink = sink
        self._ledger = ledger
        self._rotate = rotate_salts
        self._chores = tuple(chores)  # more work on the same beat (bot breakdown, withdrawn ids reload)
        self._interval_s = interval_s
        self._jobs: queue.Queue[Erasure | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="collector-consent", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def erase(self, jobs: Iterable[Erasure]) -> None:
        for job in jobs:
            with self._idle:
                self._pending += 1
            self._jobs.put(job)

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until every queued erasure has run (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending and time.monotonic() < deadline:
                self._idle.wait(0.05)
            return self._pending == 0

    def tick(self) -> None:
        """Write the counted signal receipts and rotate the salts; also run on each beat of the thread."""
        rows = self._ledger.drain()
        if rows:
            self._sink.submit([(TABLE, row) for row in rows])
        self._rotate()
        for chore in self._chores:
            self._safely(chore)

    def close(self) -> None:
        self._jobs.put(None)
        if self._thread.is_alive():
            self._thread.join()
        self.tick()

    def _run(self) -> None:
        next_tick = time.monotonic() + self._interval_s
        while True:
            try:
                job = self._jobs.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                self._safely(self.tick)
                next_tick = time.monotonic() + self._interval_s
                continue
            if job is None:
                return
            self._run_erasure(job)
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _run_erasure(self, job: Erasure) -> None:
        """Erase, retrying an infrastructure failure with backoff: a withdrawal must not be lost quietly."""
        for attempt in range(ERASE_ATTEMPTS):
            try:
                self._sink.flush()  # everything queued before the withdrawal is stored, then erased
                report = self._erase(job)
                log.info("withdrawal erased", extra={"site": job.site, "rows": report.get("deleted")})
                return
            except Exception as exc:
                log.warning("withdrawal erasure failed", extra={"error": type(exc).__name__, "attempt": attempt + 1})
                time.sleep(min(0.5 * 2 ** attempt, 8.0))
        log.error("withdrawal erasure gave up; run `collector dsar delete` for the site", extra={"site": job.site})

    @staticmethod
    def _safely(work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as exc:  # infrastructure failure: logged by type, the thread keeps running
            log.error("consent work failed", extra={"error": type(exc).__name__})
