"""The privacy pipeline: one ordered list of small steps. Read it top to bottom to read the promise.

Each step takes an Event and returns it, enriched or reduced, or marked dropped with a Reason.
No step imports Starlette; the request was validated at the edge (request.py) before any step runs.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .agents import AgentCache
from .breakdown import BotLedger
from .config import Config, SitePolicy
from .duplicates import dedup_key
from .event import Event, Reason, Tier
from .geo import GeoLookup, coarsen
from .minimise import split_page, split_referrer
from .pseudonyms import session_id, visitor_id
from .receipts import SignalLedger, no_consent_tier, receipt
from .referrers import SpamList, referrer_host
from .row import to_row
from .salts import Salts
from .settings import Network
from .withdrawn import Withdrawn


@dataclass(slots=True)
class Context:
    """What the steps need besides the event; built once at startup, injected for tests."""

    config: Config
    geo: GeoLookup
    agents: AgentCache
    salts: Salts
    secret: bytes
    trusted_proxies: tuple[Network, ...] = ()
    signals: SignalLedger = field(default_factory=SignalLedger)
    spam: SpamList = field(default_factory=SpamList)
    withdrawn: Withdrawn = field(default_factory=Withdrawn)
    bots: BotLedger = field(default_factory=BotLedger)
    _trusted: dict[str, bool] = field(default_factory=dict)
    _origins: dict[tuple[str, str], bool] = field(default_factory=dict)

    def origin_allowed(self, policy: SitePolicy, host: str) -> bool:
        """policy.allows_host, memoised: a site's visitors come from a handful of hosts."""
        key = (policy.site, host)
        allowed = self._origins.get(key)
        if allowed is None:
            allowed = policy.allows_host(host)
            if len(self._origins) < 10_000:
                self._origins[key] = allowed
        return allowed

    def is_trusted(self, address: str) -> bool:
        trusted = self._trusted.get(address)
        if trusted is None:
            try:
                ip = ipaddress.ip_address(address)
                trusted = any(ip in net for net in self.trusted_proxies)
            except ValueError:
                trusted = False
            if len(self._trusted) < 10_000:
                self._trusted[address] = trusted
        return trusted


Step = Callable[[Event, Context], Event]


def resolve_site(event: Event, ctx: Context) -> Event:
    policy = ctx.config.sites.get(event.site)
    if policy is None:
        return event.drop(Reason.UNKNOWN_SITE)
    event.policy = policy
    origin = event.request.origin_host if event.request else ""
    if origin and not ctx.origin_allowed(policy, origin):
        return event.drop(Reason.ORIGIN_NOT_ALLOWED)
    return event


def client_ip(event: Event, ctx: Context) -> Event:
    """The socket peer; forwarded headers count only when the peer is a trusted proxy, and then the
    right-most forwarded address that is not itself a trusted proxy is the client."""
    request = event.request
    assert request is not None
    ip = request.peer
    if request.forwarded_for and ctx.is_trusted(ip):
        for hop in reversed(request.forwarded_for):
            ip = hop
            if not ctx.is_trusted(hop):
                break
    event.ip = ip
    return event


def geolocate(event: Event, ctx: Context) -> Event:
    event.geo = coarsen(ctx.geo.lookup(event.ip), event.policy.geo)
    return event


def user_agent(event: Event, ctx: Context) -> Event:
    agent = ctx.agents.classify(event.request.user_agent if event.request else "")
    if agent[4] == "bot":  # counted by category and family for the bot breakdown, never by user agent
        ctx.bots.add(event.site, event.ts_ms // 1000, agent[2], agent[1], event.policy.rollup_retention_days)
        return event.drop(Reason.BOT)
    event.ua = agent
    return event


def referrer_spam(event: Event, ctx: Context) -> Event:
    """Drop an event whose referrer host is on the referrer-spam list (subdomains included)."""
    spam = ctx.spam
    if event.referrer and spam.domains and spam.is_spam(referrer_host(event.referrer)):
        return event.drop(Reason.REFERRER_SPAM)
    return event


def consent(event: Event, ctx: Context) -> Event:
    """full with consent and a first-party id; otherwise anonymous or denied by the site policy.

    A `consent` event is never dropped: it becomes a receipt, full when the browser's id proves whose
    choice it is. A GPC/DNT signal that decides the tier is counted for a signal receipt."""
    policy = event.policy
    request = event.request
    analytics = event.consent.get("analytics")
    if event.type == "consent":
        event.tier = Tier.FULL if event.vid else Tier.ANONYMOUS
        return event
    if analytics is True and event.vid:
        event.tier = Tier.FULL
        return event
    # The headers, or the same signals read by the tracker in the browser (navigator.globalPrivacyControl,
    # navigator.doNotTrack) and sent as consent flags, since a page cannot set Sec-GPC itself.
    gpc = (request is not None and request.gpc) or event.consent.get("gpc") is True
    dnt = (request is not None and request.dnt) or event.consent.get("dnt") is True
    signal = ""
    if policy.consent == "strict" and analytics is not True:
        tier = Tier.DENIED
    elif analytics is False:
        tier = Tier.ANONYMOUS
    elif gpc and analytics is None:
        tier, signal = Tier(policy.gpc), "gpc"
    elif dnt and analytics is None and policy.dnt != "ignore":
        tier, signal = Tier(policy.dnt), "dnt"
    else:
        tier = Tier.ANONYMOUS
    event.tier = tier
    if signal:
        ctx.signals.add(event, signal, tier)
    return event.drop(Reason.CONSENT_DENIED) if tier is Tier.DENIED else event


def pseudonymise(event: Event, ctx: Context) -> Event:
    """full: HMAC of the consented first-party ids. anonymous: a hash keyed by the daily salt of
    (site, ip, user agent), which cannot be recomputed once the salt is destroyed."""
    if event.tier is Tier.FULL:
        event.visitor_id = visitor_id(ctx.secret, event.site, event.vid)
        event.session_id = session_id(ctx.secret, event.site, event.sid)
    else:
        salt = ctx.salts.for_time(event.ts_ms / 1000)
        ua = event.request.user_agent if event.request else ""
        digest = hashlib.blake2b(f"{event.site}\0{event.ip}\0{ua}".encode("utf-8", "surrogatepass"),
                                 key=salt, digest_size=8).digest()
        event.visitor_id = event.session_id = int.from_bytes(digest, "big")
    return event


_FULL = Tier.FULL  # a module constant: an enum member lookup per event costs more than this step


def honour_withdrawal(event: Event, ctx: Context) -> Event:
    """A consented id whose visitor withdrew consent gets the site's no-consent tier (anonymous, or
    denied and dropped); a consent choice with an id updates the withdrawn set (see withdrawn.py)."""
    if event.tier is not _FULL:
        return event
    if event.type == "consent":
        ctx.withdrawn.record(event.site, event.visitor_id, event.data.get("action") == "withdraw")
        return event
    withdrawn = ctx.withdrawn.ids.get(event.site)  # usually None: no withdrawal on this site
    if withdrawn is None or event.visitor_id not in withdrawn:
        return event
    event.tier = no_consent_tier(event.policy)
    if event.tier is Tier.DENIED:
        return event.drop(Reason.CONSENT_DENIED)
    return pseudonymise(event, ctx)


def discard_ip(event: Event, ctx: Context) -> Event:
    """The IP, the raw user agent and the raw first-party ids leave the event here, for good."""
    event.ip = ""
    event.request = None
    event.vid = event.sid = ""
    return event


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_LONG_NUMBER = re.compile(r"\d{6,}")
# Anything shaped like an IPv4 or IPv6 address; replaced only if it parses as one.
_IP_LIKE = re.compile(r"[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f.]*(?:%\w+)?|\b(?:\d{1,3}\.){3}\d{1,3}\b")


def _scrub_ips(text: str) -> str:
    """Client error messages quote URLs and hosts: an IP address in one never reaches disk."""

    def replace(match: re.Match[str]) -> str:
        try:
            ipaddress.ip_address(match.group().split("%")[0])
        except ValueError:
            return match.group()
        return "[ip]"

    return _IP_LIKE.sub(replace, text)


def minimise(event: Event, ctx: Context) -> Event:
    """Path plus allow-listed params; referrer host (external) or path (internal); error messages
    scrubbed of IP addresses, e-mail addresses and long numbers."""
    policy = event.policy
    event.host, event.path, event.utm, event.params = split_page(
        event.url, policy.query_params, policy.hash_routing)
    event.url = ""
    event.referrer_host, event.referrer_path = split_referrer(event.referrer, event.host)
    event.referrer = ""
    if "message" in event.data:
        event.data["message"] = _LONG_NUMBER.sub("#", _EMAIL.sub("[email]", _scrub_ips(event.data["message"])))
    return event


PIPELINE: tuple[Step, ...] = (
    resolve_site,
    client_ip,
    geolocate,
    user_agent,
    referrer_spam,
    consent,
    pseudonymise,
    honour_withdrawal,
    receipt,
    discard_ip,
    minimise,
    to_row,
    dedup_key,
)


def run(events: Iterable[Event], ctx: Context, steps: tuple[Step, ...] = PIPELINE
        ) -> tuple[list[tuple[str, list[Any]]], Counter[tuple[str, Reason]]]:
    """Run every event through the steps; return the rows to store (built by to_row, the last step)
    and the drop counts by (site, reason). A dropped event leaves at the step that dropped it."""
    rows: list[tuple[str, list[Any]]] = []
    dropped: Counter[tuple[str, Reason]] = Counter()
    for event in events:
        for step in steps:
            event = step(event, ctx)
            if event.dropped is not None:
                site = event.site if event.policy is not None else ""
                dropped[(site, event.dropped)] += 1
                break
        else:
            rows.append((event.table, event.row))  # type: ignore[arg-type]
    return rows, dropped
