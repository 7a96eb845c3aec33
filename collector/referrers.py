"""Referrer spam: events whose referrer host is on a referrer-spam list, or a subdomain of one entry,
are dropped with Reason.REFERRER_SPAM and counted like every other drop.

The list is a text file in the format of Matomo's community list (matomo-org/referrer-spam-list,
`spammers.txt`: one host per line, public domain), the list Matomo and Plausible filter with. No package
registry publishes it, so the operator points COLLECTOR_REFERRER_SPAM_LIST at a copy and refreshes it
(the manual: Privacy, bots and spam); without one nothing is dropped for this reason. Its version (the first 12 hex
digits of the file's SHA-256) and size are in /metrics.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SpamList:
    domains: frozenset[str] = frozenset()
    version: str = "none"

    @classmethod
    def load(cls, path: Path | None) -> SpamList:
        """The list at `path` (a missing file fails loudly at startup); empty when no path is set."""
        if path is None:
            return cls()
        data = path.read_bytes()
        hosts = (line.strip().lower().rstrip(".") for line in data.decode("utf-8").splitlines())
        return cls(frozenset(h for h in hosts if h and not h.startswith("#")), hashlib.sha256(data).hexdigest()[:12])

    def is_spam(self, host: str) -> bool:
        """`host` or one of its parent domains is on the list (a listed domain covers its subdomains)."""
        while True:
            if host in self.domains:
                return True
            dot = host.find(".")
            if dot < 0:
                return False
            host = host[dot + 1:]


def referrer_host(referrer: str) -> str:
    """The lower-case host of an absolute URL, without userinfo, port or trailing dot; '' if none."""
    rest = referrer.partition("://")[2]
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    if authority.startswith("["):  # an IPv6 literal is no spam domain
        return ""
    return authority.split(":", 1)[0].lower().rstrip(".")

