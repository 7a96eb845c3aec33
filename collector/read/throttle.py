"""Failed dashboard logins, limited per user and per client network, over a sliding window.

A guesser is stopped two ways: one user name gets at most `per_user` failures in the window, whoever
sends them (a botnet spreads its guesses over networks), and one client network (/24 IPv4, /64 IPv6) at
most `per_network`, whatever names it tries (one host sprays names). Past either, every login from there
or for that name answers 429 with `Retry-After` — even with the right password, or guessing would go on.
Only names that exist are counted per user, so that table is as small as the user list and nobody can flush
it by trying made-up names; the per-network table keeps its newest `max_networks` entries. The cost: anyone
can lock a known user out for the window by failing on purpose; the admin then logs in with the token over
`/sql`, or waits.
"""

from __future__ import annotations

import ipaddress
import math
from collections import deque
from collections.abc import Callable, Collection

WINDOW_S = 15 * 60  # long enough to make online guessing useless, short enough that a locked-out user waits little
PER_USER = 10  # failures per user name per window: a person mistyping stays far below it
PER_NETWORK = 30  # failures per client network per window: an office behind one address may share it
MAX_NETWORKS = 10_000  # memory bound: about 100 bytes per entry


def network(address: str) -> str:
    """The client's network: /24 for IPv4, /64 for IPv6 (one host usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "?"
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class LoginThrottle:
    def __init__(self, clock: Callable[[], float], known: Callable[[str], bool], *, window_s: int = WINDOW_S,
                 per_user: int = PER_USER, per_network: int = PER_NETWORK, max_networks: int = MAX_NETWORKS) -> None:
        self.clock = clock
        self.known = known  # whether a user name exists (only those are counted per user)
        self.window_s, self.per_user, self.per_network = window_s, per_user, per_network
        self.max_networks = max_networks
        self._users: dict[str, deque[float]] = {}
        self._networks: dict[str, deque[float]] = {}

    def retry_after(self, user: str, client_network: str) -> int:
        """Seconds to wait before a login for `user` from `client_network` is looked at; 0: go ahead."""
        now = self.clock()
        waits = [self._wait(self._users.get(user), self.per_user, now),
                 self._wait(self._networks.get(client_network), self.per_network, now)]
        return max(waits)

    def failed(self, user: str, client_network: str) -> None:
        now = self.clock()
        if self.known(user):
            self._add(self._users, user, now)
        self._add(self._networks, client_network, now)
        while len(self._networks) > self.max_networks:
            del self._networks[next(iter(self._networks))]  # the entry touched longest ago

    def succeeded(self, user: str) -> None:
        """The right password within the limits: that user's failures are forgotten (the network's stay)."""
        self._users.pop(user, None)

    def _add(self, table: dict[str, deque[float]], key: str, now: float) -> None:
        times = table.pop(key, None) or deque()
        times.append(now)
        table[key] = times  # re-inserted: the dict's order is the order of last use

    def _wait(self, times: deque[float] | None, limit: int, now: float) -> int:
        if not times:
            return 0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) < limit:
            return 0
        return max(1, math.ceil(times[-limit] + self.window_s - now))


def client_address(peer: str, headers: Collection[tuple[str, str]], trusted: Callable[[str], bool]) -> str:
    """The client's address by the pipeline's rule: the socket peer, or, when the peer is a trusted proxy,
    the right-most `X-Forwarded-For` address that is not itself a trusted proxy."""
    forwarded = [hop.strip() for name, value in headers if name == "x-forwarded-for"
                 for hop in value.split(",") if hop.strip()]
    address = peer
    if forwarded and trusted(peer):
        for hop in reversed(forwarded):
            address = hop
            if not trusted(hop):
                break
    return address


def https_by_proxy(peer: str, headers: Collection[tuple[str, str]], trusted: Callable[[str], bool]) -> bool:
    """A trusted proxy says the client used https (`X-Forwarded-Proto: https` or `Forwarded: proto=https`)."""
    if not trusted(peer):
        return False
    for name, value in headers:
        if name == "x-forwarded-proto" and "https" in [v.strip().lower() for v in value.split(",")]:
            return True
        if name == "forwarded" and "proto=https" in value.lower().replace(" ", "").replace('"', ""):
            return True
    return False
