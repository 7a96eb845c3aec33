"""Access control: ingest is public and write-only with CORS only for the event's site; admin routes need
the bearer token (a missing or wrong one is a 401 without detail) and send no CORS headers; every
response carries a CSP; proxy headers count only from trusted proxies; the OpenAPI document covers
every route."""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import LONDON_IP, MINNEAPOLIS_IP, Api, event, serve
from rawhttp import raw_request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from collector.app import CSP_HTML, CSP_OTHER, SecurityHeaders
from collector.auth import bearer, is_admin
from collector.openapi import document

TOKEN = "s3cret-admin-token"
ADMIN = [("GET", "/admin/dsar/export?site=test.example&visitor=1"),
         ("POST", "/admin/dsar/delete?site=test.example&visitor=1"),
         ("POST", "/admin/purge?site=nobody.example")]
BAD = [{}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"},
       {"authorization": f"Bearer {TOKEN}x"}, {"authorization": f"Bearer {TOKEN[:-1]}"},
       {"authorization": "Bearer"}, {"authorization": f"bearer  {TOKEN[::-1]}"}]


@pytest.mark.parametrize(("method", "path"), ADMIN)
def test_admin_routes_refuse_without_detail_and_open_with_the_token(
        make_api: Callable[..., Api], method: str, path: str) -> None:
    api = make_api(admin_token=TOKEN)
    origin = {"origin": "https://test.example"}
    answers = {api.client.request(method, path, headers={**h, **origin}).text for h in BAD}
    assert len(answers) == 1  # every failure looks the same: nothing says why
    r = api.client.request(method, path, headers=origin)
    assert r.status_code == 401 and r.json() == {"error": "unauthorized", "detail": ""}
    assert not any(k.lower().startswith("access-control") for k in r.headers)
    ok = api.client.request(method, path, headers={"authorization": f"Bearer {TOKEN}", **origin})
    assert ok.status_code == 200, ok.text  # the token opens every admin route
    assert not any(k.lower().startswith("access-control") for k in ok.headers)


@pytest.mark.parametrize(("method", "path"), ADMIN)
def test_no_token_configured_means_no_admin_access(make_api: Callable[..., Api], method: str, path: str) -> None:
    api = make_api()
    for headers in [*BAD, {"authorization": "Bearer "}, {"authorization": "Bearer None"}]:
        assert api.client.request(method, path, headers=headers).status_code == 401


TRAVERSALS = [f"/api/event/{up}admin/purge?site=test.example" for up in (
    "../", "../../", "..%2f..%2f", "%2e%2e/%2e%2e/", "%2E%2E%2F%2E%2E%2F", "..\\..\\", "./../../", "..;/..;/")] + [
    "/api/../admin/purge?site=test.example", "/api/event?next=/admin/purge", "/api/event/admin/purge",
    "/api/event.gif?next=/admin/purge"]


def admin_opened_through_ingest(url: str) -> list[str]:
    """The traversal targets, sent as written over a socket with the admin token, that reached the admin
    route (a 200 that is not an ingest answer)."""
    opened = []
    for target in TRAVERSALS:
        r = raw_request(url, "POST", target, {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
                        b"{}")
        if r.status not in (403, 404, 405):
            opened.append(f"{target}: {r.status} {r.body[:60]!r}")
    return opened


def test_the_ingest_path_never_opens_an_admin_route(make_api: Callable[..., Api]) -> None:
    api = make_api(admin_token=TOKEN)
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert api.send(event(), headers=auth).status_code == 403
    api.send([event(url=f"https://test.example/{i}") for i in range(3)])
    with serve(api.client.app) as url:
        assert admin_opened_through_ingest(url) == []
    assert api.collector.metrics.get("collector_requests_rejected_total", error="credential_not_allowed") >= 1
    assert api.count() == 3  # no purge ran


async def normalising_router(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server that resolves `..` before routing: the mistake the test above must catch."""
    path = posixpath.normpath(unquote(scope["raw_path"].decode()).replace("\\", "/"))
    status, body = (200, b"purged") if path == "/admin/purge" else (404, b"")
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_the_traversal_check_can_fail() -> None:
    """Against a server that normalises paths the same requests open the admin route: they reach the
    server as written (httpx would have sent /api/admin/purge, which no router confuses with an admin path)."""
    with serve(normalising_router) as url:
        opened = admin_opened_through_ingest(url)
    assert len(opened) >= 6 and all(": 200 b'purged'" in o for o in opened), opened


def test_auth_compares_tokens_exactly() -> None:
    assert bearer("Bearer abc") == "abc" and bearer("bearer   abc ") == "abc"
    assert bearer("Basic abc") is None and bearer("Bearer") is None and bearer("") is None
    assert is_admin("abc", "Bearer abc") and not is_admin("abc", "Bearer abd")
    assert not is_admin(None, "Bearer abc") and not is_admin("", "Bearer ")
    assert not is_admin("abc", "Bearer ab\udcff")  # undecodable header bytes are just wrong


def test_cors_only_for_the_events_site(make_api: Callable[..., Api]) -> None:
    api = make_api()
    own = api.send(event(), headers={"origin": "https://test.example"})
    assert own.status_code == 202 and own.headers["access-control-allow-origin"] == "https://test.example"
    other = api.send(event(), headers={"origin": "https://country.example"})  # allowed for another site only
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    unknown = api.send(event(site="nobody.example"), headers={"origin": "https://test.example"})
    assert unknown.status_code == 202 and "access-control-allow-origin" not in unknown.headers
    stranger = api.client.options("/api/event", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers


def test_every_response_carries_a_csp(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/t.js", "/admin/purge"):
        r = api.client.get(path)
        assert r.headers["content-security-policy"] == CSP_OTHER and r.headers["x-content-type-options"] == "nosniff"
    r = api.send(event())
    assert r.headers["content-security-policy"] == CSP_OTHER

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse("<p>hi</p>")

    html = TestClient(SecurityHeaders(Starlette(routes=[Route("/", page)]))).get("/")
    assert html.headers["content-security-policy"] == CSP_HTML and "frame-ancestors 'none'" in CSP_HTML


def test_forwarded_addresses_only_from_trusted_proxies(make_api: Callable[..., Api]) -> None:
    xff = {"x-forwarded-for": MINNEAPOLIS_IP}
    untrusted = make_api(peer=LONDON_IP)
    untrusted.send(event(url="https://test.example/untrusted"), headers=xff)
    trusted = make_api(peer="127.0.0.1", trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    trusted.send(event(url="https://test.example/trusted"), headers=xff)
    rows = dict(trusted.rows("SELECT path, country FROM analytics.events"))
    assert rows == {"/untrusted": "GB", "/trusted": "US"}


def test_openapi_describes_every_route(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert doc == document() and doc["openapi"].startswith("3.1")
    described = {(path, m.upper()) for path, ops in doc["paths"].items() for m in ops}
    # OpenAPI names a path parameter {name}; Starlette's {name:path} converter is the same parameter.
    routes = {(re.sub(r"\{(\w+):\w+\}", r"{\1}", r.path), m) for r in api.client.app.routes  # type: ignore[attr-defined]
              for m in (r.methods or ()) if m != "HEAD"}
    assert routes <= described, routes - described
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert ("security" in op) == path.startswith(("/admin/", "/api/stats/"))
