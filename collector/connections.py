"""Who is connected to this process, and which edge limits they hit.

One `Connections` per process (per event loop): the global connection cap, the per-client-network cap,
one deadline sweep for every connection (a timer per request would cost more than the whole head of a
beacon), and the count of each limit's hits with a rate-limited warning that never names a client.
Used from the event loop only: no locks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .metrics import Metrics
from .settings import Network, Settings

log = logging.getLogger("collector.edge")
HITS = "collector_edge_limit_hits_total"
# At most one warning per limit kind in this long; the line says how many hits it stands for.
WARN_EVERY_S = 60.0
# Limit kinds that are normal traffic (a browser's idle keep-alive connection): counted, never warned.
QUIET = frozenset({"idle_timeout"})
# Descriptors kept back from the connection cap for the store, the spool, the GeoIP file and logs.
FD_RESERVE_MIN = 256
NEVER = math.inf


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    """The limits every connection of this process is held to (from the settings; see docs/deploy/index.md)."""

    max_header_bytes: int
    max_headers: int
    max_url_bytes: int
    request_deadline_s: float
    idle_timeout_s: float
    max_connections: int
    max_connections_per_network: int
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes, max_headers=settings.max_headers,
            max_url_bytes=settings.max_url_bytes, request_deadline_s=settings.request_deadline_ms / 1000,
            idle_timeout_s=settings.idle_timeout_ms / 1000,
            max_connections=settings.max_connections or connection_cap_from_fd_limit(),
            max_connections_per_network=settings.max_connections_per_network,
            trusted_proxies=settings.trusted_proxies,
        )

    @property
    def sweep_interval_s(self) -> float:
        """How often deadlines are checked: a connection is closed at most this late."""
        return max(0.05, min(1.0, self.request_deadline_s / 4, self.idle_timeout_s / 4))


def connection_cap_from_fd_limit() -> int:
    """The open-descriptor limit (RLIMIT_NOFILE, soft) less a reserve of a quarter (at least 256) for
    everything else the process opens: past the cap a connection is closed at once, so accept() never
    fails for want of a descriptor and the listener keeps draining its backlog."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(16, soft - max(FD_RESERVE_MIN, soft // 4))


def network_of(host: str) -> str:
    """The client network a socket peer belongs to: its /24 (IPv4) or /56 (IPv6), the block one
    household, office or hosting customer usually holds. An IPv4-mapped IPv6 address is IPv4."""
    if host.count(".") == 3 and ":" not in host:
        return host.rpartition(".")[0]
    try:
        ip = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return host
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped).rpartition(".")[0]
    return ip.packed[:7].hex()


class Held(Protocol):
    """A connection as the sweep sees it: when it must be done by, and how to cut it."""

    deadline: float

    def expire(self) -> None: ...


class Connections:
    """The open connections of one process, their per-network counts, the sweep and the hit counts."""

    def __init__(self, limits: EdgeLimits, metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.metrics = metrics
        self.clock = clock
        self.open: set[Held] = set()
        self.per_network: dict[str, int] = {}
        self._sweeping: asyncio.TimerHandle | None = None
        self._unwarned: dict[str, int] = {}
        self._warned_at: dict[str, float] = {}

    def admit(self, conn: Held, host: str | None, loop: asyncio.AbstractEventLoop) -> str | None:
        """Register a new connection and return its network key (None: not counted per network), or
        raise `Refused` when a cap is reached. The trusted proxies are exempt from the per-network cap:
        one proxy carries many clients, and it is the proxy's job to cap each of them."""
        limits = self.limits
        if len(self.open) >= limits.max_connections:
            raise Refused("connections")
        key = None
        if host is not None and not self._trusted(host):
            key = network_of(host)
            held = self.per_network.get(key, 0)
            if held >= limits.max_connections_per_network:
                raise Refused("network_connections")
            self.per_network[key] = held + 1
        self.open.add(conn)
        if self._sweeping is None:
            self._sweeping = loop.call_later(limits.sweep_interval_s, self._sweep, loop)
        return key

    def release(self, conn: Held, key: str | None) -> None:
        self.open.discard(conn)
        if key is not None:
            left = self.per_network.pop(key) - 1
            if left:
                self.per_network[key] = left

    def hit(self, kind: str) -> None:
        """Count one hit of a limit; warn at most once a minute per kind, with the count since."""
        self.metrics.inc("collector_edge_limit_hits_total", limit=kind)  # = HITS
        if kind in QUIET:
            return
        self._unwarned[kind] = self._unwarned.get(kind, 0) + 1
        now = self.clock()
        if now - self._warned_at.get(kind, -WARN_EVERY_S) >= WARN_EVERY_S:
            self._warned_at[kind] = now
            log.warning("edge limit hit", extra={"limit": kind, "hits": self._unwarned.pop(kind)})

    def _trusted(self, host: str) -> bool:
        if not self.limits.trusted_proxies:
            return False
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        return any(ip in net for net in self.limits.trusted_proxies)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for conn in [c for c in self.open if c.deadline <= now]:
            conn.expire()
        self._sweeping = loop.call_later(self.limits.sweep_interval_s, self._sweep, loop) if self.open else None


class Refused(Exception):
    """A new connection over a cap; `kind` names the cap."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind
