"""Dashboard sessions: a signed, expiring cookie naming a session the server holds, revoked at logout.

The cookie value is `v1.<payload>.<mac>`: the payload (user, role, sites, nonce, expiry) in base64url JSON
and an HMAC-SHA256 of it under a key that lives only in this process's memory. A cookie is accepted only
when its MAC is right, it has not expired, and its nonce is in the table of live sessions: logging out
removes the nonce, so a copied cookie dies with the session. Sessions live in memory on purpose: a restart
logs everybody out, which is the safe way round (a revocation list that a restart forgot would bring
logged-out cookies back), and a cookie from another collector (another key) is refused.

CSRF: the cookie is SameSite=Strict, and every data request must also carry the session's CSRF token
(`csrf_token`, an HMAC of the nonce) in a header, which a page on another origin cannot read or send
without a CORS preflight that is never granted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from .users import User

COOKIE = "collector_session"
# A working day: long enough not to interrupt reading, short enough that a forgotten browser logs out.
TTL_S = 8 * 3600
# Live sessions kept at most; past it the oldest is dropped (its user logs in again). Bounds memory.
MAX_SESSIONS = 10_000
_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in reader: who, until when, and the nonce that names the session."""

    user: User
    nonce: str
    expires: float

    def may_read(self, site: str) -> bool:
        return self.user.may_read(site)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """The live sessions of one collector process, and the key that signs their cookies."""

    def __init__(self, clock: Callable[[], float], ttl_s: int = TTL_S, max_sessions: int = MAX_SESSIONS,
                 key: bytes | None = None) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._max = max_sessions
        self._key = key or secrets.token_bytes(32)
        self._live: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, user: User) -> tuple[str, Session]:
        """A new session for `user` and its cookie value."""
        session = Session(user, secrets.token_urlsafe(18), self._clock() + self._ttl_s)
        payload = _b64(orjson.dumps({"u": user.name, "r": str(user.role), "s": list(user.sites),
                                     "n": session.nonce, "e": int(session.expires)}))
        with self._lock:
            self._prune()
            self._live[session.nonce] = session
            while len(self._live) > self._max:
                self._live.popitem(last=False)
        return f"{_VERSION}.{payload}.{self._mac(payload)}", session

    def verify(self, cookie: str | None) -> Session | None:
        """The live session a cookie names, or None: forged, from another key, expired or logged out."""
        nonce = self._nonce(cookie)
        if nonce is None:
            return None
        with self._lock:
            session = self._live.get(nonce)
            if session is not None and session.expires <= self._clock():
                del self._live[nonce]
                session = None
        return session

    def revoke(self, cookie: str | None) -> bool:
        """End the session a cookie names; True if there was one."""
        nonce = self._nonce(cookie)
        with self._lock:
            return nonce is not None and self._live.pop(nonce, None) is not None

    def csrf_token(self, session: Session) -> str:
        return self._mac("csrf:" + session.nonce)

    def csrf_ok(self, session: Session, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session).encode(), token.encode("utf-8", "surrogateescape"))

    def __len__(self) -> int:
        return len(self._live)

    def _mac(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode(), hashlib.sha256).digest())

    def _nonce(self, cookie: str | None) -> str | None:
        """The nonce of a well-formed, correctly signed, unexpired cookie."""
        version, _, rest = (cookie or "").partition(".")
        payload, _, mac = rest.partition(".")
        if version != _VERSION or not payload or not hmac.compare_digest(
                self._mac(payload).encode(), mac.encode("utf-8", "surrogateescape")):
            return None
        try:
            data = orjson.loads(_unb64(payload))
        except (binascii.Error, ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("e"), int) or data["e"] <= self._clock():
            return None
        nonce = data.get("n")
        return nonce if isinstance(nonce, str) else None

    def _prune(self) -> None:
        now = self._clock()
        for nonce in [n for n, s in self._live.items() if s.expires <= now]:
            del self._live[nonce]


def cookie_header(value: str, *, secure: bool, max_age: int) -> str:
    """Set-Cookie for the session: HttpOnly (no script reads it), SameSite=Strict (no other site sends it),
    Secure when the dashboard is served over TLS, scoped to the dashboard's path."""
    parts = [f"{COOKIE}={value}", "Path=/dashboard", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)

