"""The typed event that flows through the pipeline, and the closed set of reasons to drop one."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Reason(enum.StrEnum):
    """Why an event was not stored. Closed set: each is counted per site and day."""

    UNKNOWN_SITE = "unknown_site"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    BOT = "bot"
    REFERRER_SPAM = "referrer_spam"
    CONSENT_DENIED = "consent_denied"
    # An event_id the site already stored within the dedup window: acknowledged, not stored again
    # (decided by the writer, see duplicates.py).
    DUPLICATE = "duplicate"

    @property
    def meaning(self) -> str:
        """What the reason means, for /metrics readers and the reference page (docs/reference)."""
        return REASON_MEANING[self]

    @property
    def rejects_request(self) -> bool:
        """A reason that turns the whole request into an error instead of a counted drop."""
        return self is Reason.ORIGIN_NOT_ALLOWED


REASON_MEANING = {
    Reason.UNKNOWN_SITE: "The event names a site this collector is not configured for.",
    Reason.ORIGIN_NOT_ALLOWED: "The page's Origin/Referer host is not among the site's domains: the whole request "
                               "is answered 403.",
    Reason.BOT: "The user agent is a known bot, crawler or headless browser.",
    Reason.REFERRER_SPAM: "The referrer host (or a parent domain) is on the referrer-spam list.",
    Reason.CONSENT_DENIED: "No consent under a strict site, or an opt-out signal the site maps to denied: only a "
                           "per-site, per-day count is kept.",
    Reason.DUPLICATE: "An event_id the site already stored within the dedup window: acknowledged, not stored again.",
}


class Tier(enum.StrEnum):
    FULL = "full"
    ANONYMOUS = "anonymous"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the edge takes from the HTTP request, shared by every event of that request.

    Holds the peer address and raw user agent: only the pipeline sees it, and `discard_ip`
    detaches it from each event.
    """

    peer: str
    forwarded_for: tuple[str, ...] = ()
    user_agent: str = ""
    origin_host: str = ""
    gpc: bool = False
    dnt: bool = False


@dataclass(slots=True)
class Event:
    """One validated event. Fields after `data` are filled by the pipeline steps."""

    site: str
    type: str
    url: str
    ts_ms: int
    consent: dict[str, bool]
    data: dict[str, Any]
    request: RequestInfo | None
    referrer: str = ""
    event_id: str = ""
    vid: str = ""
    sid: str = ""
    ip: str = ""
    dropped: Reason | None = None
    policy: Any = None  # SitePolicy, set by resolve_site
    geo: tuple[str, str, str, int] = ("", "", "", 0)  # country ISO, subdivision ISO, city, GeoNames id
    ua: tuple[str, str, str, str, str] = ("", "", "", "", "")  # browser, major, os, major, device
    tier: Tier = Tier.ANONYMOUS
    visitor_id: int = 0
    session_id: int = 0
    host: str = ""
    path: str = ""
    utm: list[str] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    referrer_host: str = ""
    referrer_path: str = ""
    table: str = "analytics.events"
    row: list[Any] | None = None

    def drop(self, reason: Reason) -> Event:
        self.dropped = reason
        return self
