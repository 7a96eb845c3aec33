"""The built-in dashboard: login and logout, the page, its static files and the heatmap page.

    GET  /dashboard                 the page (303 to the login form without a session)
    GET  /dashboard/login           the login form;  POST: credential -> session cookie, 303 to /dashboard
    POST /dashboard/logout          ends the session on the server, clears the cookie
    GET  /dashboard/heatmap         the click heatmap of a page (same session rule as /dashboard)
    GET  /dashboard/static/v/<version>/<file>   JS modules, CSS and the vendored chart library, cached for a
                                    year (immutable: the version names the files' content; the pages link here)
    GET  /dashboard/static/<file>   the same files under a stable name, revalidated by ETag
    /dashboard/api/*, /dashboard/export.csv   the data the page reads (dashboard_api.py)

Credentials only ever travel in a POST body, never in a URL. Pages carry a CSP without inline scripts or
styles; event data reaches the page as JSON and is rendered with textContent only (static/*.js).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from . import assets, dashboard_api, demo
from .gate import Gate, same_origin
from .session import COOKIE, TTL_S

TEMPLATES = Path(__file__).resolve().parent / "static"
MAX_FORM_BYTES = 4096
STATIC_PREFIX = "/dashboard/static/"
VERSIONED_ROUTE = STATIC_PREFIX + "v/{version}/{name:path}"  # the name is looked up in the packaged files only
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _html(body: str, status: int = 200, csp: str = CSP, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", "Content-Security-Policy": csp, **(headers or {})})


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", html.escape(value, quote=True))
    return template


class Pages:
    """The HTML routes; templates are read once."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.files = assets.load()
        self.version = assets.version(self.files)
        self.versioned = f"{STATIC_PREFIX}v/{self.version}/"
        self.templates = {name: _template(name).replace(f'"{STATIC_PREFIX}', f'"{self.versioned}')
                          for name in ("dashboard.html", "login.html", "heatmap.html")}

    async def dashboard(self, request: Request) -> Response:
        return self._page(request, "dashboard.html", CSP)

    async def heatmap(self, request: Request) -> Response:
        return self._page(request, "heatmap.html", self._heatmap_csp(request))

    def _page(self, request: Request, name: str, csp: str) -> Response:
        session = self.gate.session(request)
        if session is None:
            return RedirectResponse("/dashboard/login", status_code=303)
        sites = [s for s in sorted(self.gate.collector.config.sites) if self.gate.may_read(session, s)]
        body = _fill(self.templates[name], user=session.user.name, role=str(session.user.role),
                     csrf=self.gate.sessions.csrf_token(session), sites=json.dumps(sites))
        return _html(body, csp=csp)

    def _heatmap_csp(self, request: Request) -> str:
        """The site's pages may be framed (sandboxed) behind the dots when asked for with frame=1: its
        https origins join frame-src. Same-origin pages (the demo site) are covered by default-src 'self'."""
        site = self.gate.collector.config.sites.get(request.query_params.get("site_id", ""))
        if site is None or request.query_params.get("frame") != "1":
            return CSP
        origins = " ".join(f"https://{d}" for d in site.domains if "*" not in d and d not in ("localhost", "127.0.0.1"))
        return CSP + (f"; frame-src 'self' {origins}" if origins else "")

    async def login_form(self, request: Request) -> Response:
        if self.gate.session(request) is not None:
            return RedirectResponse("/dashboard", status_code=303)
        return _html(_fill(self.templates["login.html"], error="", user=""))

    async def login(self, request: Request) -> Response:
        if not same_origin(request):
            return _html(_fill(self.templates["login.html"], error="Log in from this page.", user=""), 403)
        form = await _form(request)
        name, password = form.get("user", ""), form.get("password", "")
        throttle, client = self.gate.throttle, self.gate.client_network(request)
        wait_s = throttle.retry_after(name, client)
        if wait_s:  # checked before the password: the right one is refused too while guessing is throttled
            error = f"Too many failed logins; try again in {math.ceil(wait_s / 60)} minute(s)."
            return _html(_fill(self.templates["login.html"], error=error, user=name[:64]), 429,
                         headers={"Retry-After": str(wait_s)})
        user = self.gate.login(name, password) if name and password else None
        if user is None:
            throttle.failed(name, client)
            error = "Wrong user name or password."
            return _html(_fill(self.templates["login.html"], error=error, user=name[:64]), 401)
        throttle.succeeded(name)
        cookie, _ = self.gate.sessions.issue(user)
        return RedirectResponse("/dashboard", status_code=303,
                                headers={"Set-Cookie": self.gate.cookie(request, cookie, TTL_S)})

    async def logout(self, request: Request) -> Response:
        form = await _form(request)
        session = self.gate.session(request)
        if session is not None and same_origin(request) and self.gate.sessions.csrf_ok(session, form.get("csrf", "")):
            self.gate.sessions.revoke(request.cookies.get(COOKIE))
        elif session is not None:
            return Response("Forbidden", status_code=403, media_type="text/plain")
        return RedirectResponse("/dashboard/login", status_code=303,
                                headers={"Set-Cookie": self.gate.cookie(request, "", 0)})

    async def versioned_static(self, request: Request) -> Response:
        """A packaged file under this version's name (any other version or file: 404), cached as immutable."""
        asset = self.files.get(request.path_params["name"])
        if asset is None or request.path_params["version"] != self.version:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return assets.respond(request, asset, assets.IMMUTABLE)

    async def static(self, request: Request) -> Response:
        asset = self.files.get(request.url.path.removeprefix(STATIC_PREFIX))
        if asset is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return assets.respond(request, asset)


async def _form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (bounded), first value per field; anything else is empty."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    except ValueError:  # more fields than any of our forms has
        return {}
    return {key: values[0] for key, values in fields.items()}


def routes(collector: Any) -> list[BaseRoute]:
    """Every dashboard route, and in demo mode the demo site at `/`."""
    gate = Gate(collector)
    pages = Pages(gate)
    return [
        Route("/dashboard", pages.dashboard, methods=["GET"]),
        Route("/dashboard/", lambda request: RedirectResponse("/dashboard", status_code=308), methods=["GET"]),
        Route("/dashboard/login", pages.login_form, methods=["GET"]),
        Route("/dashboard/login", pages.login, methods=["POST"]),
        Route("/dashboard/logout", pages.logout, methods=["POST"]),
        Route("/dashboard/heatmap", pages.heatmap, methods=["GET"]),
        # One route per packaged file: an allow-list, no path parameter to traverse with.
        *(Route(STATIC_PREFIX + name, pages.static, methods=["GET"]) for name in pages.files),
        Route(VERSIONED_ROUTE, pages.versioned_static, methods=["GET"]),
        *dashboard_api.routes(gate),
        *demo.routes(collector.settings),
    ]
