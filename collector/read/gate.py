"""Who may use the dashboard: the login check, the session of a request and its CSRF proof.

One `Gate` per app (built by `dashboard.routes`), holding the live sessions and the demo login; every
dashboard route asks it before doing anything.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from ..config import ADMIN_USER
from ..errors import ClientError, Kind
from .demo import DEMO_SITE, DEMO_USER, DemoLogin, is_demo
from .session import COOKIE, Session, Sessions, cookie_header
from .throttle import LoginThrottle, client_address, https_by_proxy, network
from .users import User, authenticate

CSRF_HEADER = "x-csrf-token"


class Gate:
    def __init__(self, collector: Any) -> None:
        self.collector = collector
        self.sessions = Sessions(collector.clock)
        self.demo = DemoLogin(collector.settings)
        self.demo_site = DEMO_SITE if is_demo(collector.settings) else None
        self.throttle = LoginThrottle(collector.clock, self._exists)

    def _exists(self, name: str) -> bool:
        return name in (ADMIN_USER, DEMO_USER) or name in self.collector.config.users

    def client_network(self, request: Request) -> str:
        """The client's network, through trusted proxies as the pipeline finds the client's address."""
        peer = request.client.host if request.client else ""
        return network(client_address(peer, request.headers.items(), self.collector.ctx.is_trusted))

    def login(self, name: str, password: str) -> User | None:
        """The user a credential belongs to: a configured user, the admin (COLLECTOR_ADMIN_TOKEN) or, in
        demo mode, the generated demo login."""
        user = authenticate(self.collector.config, self.collector.settings.admin_token, name, password)
        return user or self.demo.user(name, password)

    def session(self, request: Request) -> Session | None:
        return self.sessions.verify(request.cookies.get(COOKIE))

    def require(self, request: Request, site: str | None = None) -> Session:
        """The request's session, else a 401; with its CSRF header unless it is a safe read (GET) or a
        403; and a 403 for a site the user may not read."""
        session = self.session(request)
        if session is None:
            raise ClientError(Kind.UNAUTHORIZED, "unauthorized", "log in at /dashboard/login")
        if request.method != "GET" and not self.sessions.csrf_ok(session, request.headers.get(CSRF_HEADER, "")):
            raise ClientError(Kind.FORBIDDEN, "csrf", f"the {CSRF_HEADER} header is missing or wrong")
        if site is not None and not self.may_read(session, site):
            raise ClientError(Kind.FORBIDDEN, "forbidden", "this login may not read that site")
        return session

    def may_read(self, session: Session, site: str) -> bool:
        return site in self.collector.config.sites and session.may_read(site)

    def cookie(self, request: Request, value: str, max_age: int) -> str:
        """Secure over TLS, or when a trusted proxy says the client used https (TLS ends at the proxy)."""
        peer = request.client.host if request.client else ""
        secure = request.url.scheme == "https" or https_by_proxy(peer, request.headers.items(),
                                                                 self.collector.ctx.is_trusted)
        return cookie_header(value, secure=secure, max_age=max_age)


def same_origin(request: Request) -> bool:
    """A form post from our own pages. Browsers send Origin with every POST; one from another origin is a
    cross-site request (login CSRF). Requests without Origin come from non-browser clients."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")
