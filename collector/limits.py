"""Overload answers: per-site rate limits (429) and global saturation (503), both with Retry-After.

A site's events draw from its own token bucket, so a noisy site runs out of tokens and gets 429s while
the others keep their share; unknown site ids all draw from one shared bucket, so inventing site ids
buys nothing. Global saturation caps the requests in the pipeline or waiting for the spool at once, and
one site's share of them, so a burst beyond capacity gets a quick 503 instead of queueing without bound.
Both are used from the event loop only: no locks.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass

from .errors import ClientError, Kind

UNKNOWN = ""


@dataclass(slots=True)
class _Bucket:
    rate: float
    burst: float
    tokens: float
    at: float


class SiteLimits:
    """Token buckets per configured site (events per second, with a burst); a rate of 0 means no limit."""

    def __init__(self, rate_per_s: float, burst: int, sites: Collection[str],
                 overrides: Mapping[str, float] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._sites = frozenset(sites)
        now = clock()
        for site in [*sites, UNKNOWN]:
            rate = (overrides or {}).get(site, rate_per_s)
            if rate > 0:
                size = float(burst or math.ceil(2 * rate))
                self._buckets[site] = _Bucket(rate, size, size, now)

    @property
    def active(self) -> bool:
        """Some site (or the unknown-site bucket) has a rate limit."""
        return bool(self._buckets)

    def take(self, counts: Mapping[str, int]) -> None:
        """Spend `counts` events per site, all or nothing; raise a 429 naming when to come back."""
        now = self._clock()
        needed: dict[str, int] = {}
        for site, n in counts.items():
            key = site if site in self._sites else UNKNOWN
            if key in self._buckets:
                needed[key] = needed.get(key, 0) + n
        buckets = [(self._refill(key, now), n) for key, n in needed.items()]
        for bucket, n in buckets:
            if n > bucket.tokens:
                wait = (min(n, bucket.burst) - bucket.tokens) / bucket.rate
                raise ClientError(Kind.RATE_LIMITED, "rate_limited", "this site sends too many events; retry later",
                                  max(1, math.ceil(wait)))
        for bucket, n in buckets:
            bucket.tokens -= n

    def _refill(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets[key]
        bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.at) * bucket.rate)
        bucket.at = now
        return bucket


class Saturation:
    """At most `max_inflight` ingest requests waiting on the pipeline and the spool at once, and at most
    half of them for any one site (its fair share, so a second site always finds room); past either,
    503 with Retry-After."""

    def __init__(self, max_inflight: int, retry_after_s: int = 1) -> None:
        self.max_inflight = max_inflight
        self.site_share = max(1, max_inflight // 2)
        self.inflight = 0
        self._by_site: dict[str, int] = {}  # a plain dict: Counter.update/subtract cost µs per request
        self._retry_after_s = retry_after_s

    def acquire(self, sites: Collection[str]) -> None:
        """Take a slot for a request naming `sites`, or raise a 503; pair with `release`."""
        by_site = self._by_site
        if self.inflight >= self.max_inflight or any(by_site.get(s, 0) >= self.site_share for s in sites):
            raise ClientError(Kind.UNAVAILABLE, "overloaded", "the collector is saturated; retry later",
                              self._retry_after_s)
        self.inflight += 1
        for site in sites:
            by_site[site] = by_site.get(site, 0) + 1

    def release(self, sites: Collection[str]) -> None:
        self.inflight -= 1
        by_site = self._by_site
        for site in sites:
            left = by_site[site] - 1
            if left > 0:
                by_site[site] = left
            else:
                del by_site[site]

    @contextlib.contextmanager
    def slot(self, sites: Collection[str]) -> Iterator[None]:
        self.acquire(sites)
        try:
            yield
        finally:
            self.release(sites)


def parse_rates(raw: str) -> dict[str, float]:
    """`site=rate,site2=rate` to {site: events per second}; ValueError names the bad part."""
    rates: dict[str, float] = {}
    for part in raw.replace(",", " ").split():
        site, sep, rate = part.partition("=")
        try:
            value = float(rate)
        except ValueError:
            value = -1.0
        if not sep or not site or value < 0:
            raise ValueError(f"{part!r} is not site=events_per_second")
        rates[site] = value
    return rates
