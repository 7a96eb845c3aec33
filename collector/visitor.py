"""Self-service data-subject rights for visitors: the browser proves the request with its own first-party
id (`vid`), which only it holds; the collector recomputes the stored pseudonymous id from it, so nobody
can reach another visitor's data without that browser's id.

    POST /api/visitor/export   {"site": S, "vid": V}   200 every raw row and receipt, 404 when none
    POST /api/visitor/delete   {"site": S, "vid": V}   200 counts and verification, 404 when none

A missing or malformed id is a 400. Requests are rate-limited per (site, client network): past the
budget the answer is 429 with Retry-After. The client address is used only for that, in memory.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import ingest, pipeline, pseudonyms, rights
from .admin import error_response, json_response
from .errors import ClientError, Kind
from .event import Event, RequestInfo
from .minimise import host_of

MAX_BODY_BYTES = 1024
VID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # the event schema's `vid` pattern
# Each (site, network) may make this many requests at once, then one more every REFILL_S seconds:
# plenty for a person exercising their rights, too few to probe ids.
BURST = 5
REFILL_S = 120
_MAX_KEYS = 100_000


class Limiter:
    """Token buckets keyed by (site, network), on the injected clock; state lives with the app."""

    def __init__(self, burst: int = BURST, refill_s: float = REFILL_S) -> None:
        self.burst, self.refill_s = burst, refill_s
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, key: tuple[str, str], now: float) -> int:
        """0 when allowed, else the seconds until the next request is."""
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) / self.refill_s)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) * self.refill_s))
        if len(self._buckets) >= _MAX_KEYS:
            self._buckets.clear()  # a flood of networks: forget everyone rather than grow without bound
        self._buckets[key] = (tokens - 1, now)
        return 0


def network(address: str) -> str:
    """The client's network (/24 IPv4, /56 IPv6): one household or office shares a budget."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "?"
    prefix = 24 if ip.version == 4 else 56
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _client(info: RequestInfo, ctx: pipeline.Context) -> str:
    """The client address by the pipeline's own rule (trusted proxies), on a throwaway event."""
    probe = Event(site="", type="pageview", url="", ts_ms=0, consent={}, data={}, request=info)
    return pipeline.client_ip(probe, ctx).ip


def _cors(collector: Any, request: Request) -> dict[str, str]:
    origin = request.headers.get("origin", "")
    if origin and collector.config.any_site_allows(host_of(origin)):
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


async def _body(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("application/json", "text/plain"):
        raise ClientError(Kind.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send application/json")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ClientError(Kind.TOO_LARGE, "too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ClientError(Kind.INVALID, "invalid_json", "body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ClientError(Kind.INVALID, "invalid_request", "body must be {\"site\": ..., \"vid\": ...}")
    return doc


def _identify(collector: Any, doc: dict[str, Any], info: RequestInfo) -> tuple[str, int]:
    """(site, stored visitor id) from the site and the browser's own id, or a ClientError."""
    site, vid = doc.get("site"), doc.get("vid")
    if not isinstance(site, str) or site not in collector.config.sites:
        raise ClientError(Kind.INVALID, "unknown_site", "site: not a site of this collector")
    if info.origin_host and not collector.config.sites[site].allows_host(info.origin_host):
        raise ClientError(Kind.FORBIDDEN, "origin_not_allowed", "this origin may not act for the site")
    if not isinstance(vid, str) or not VID.match(vid):
        raise ClientError(Kind.INVALID, "invalid_vid", "vid: the browser's first-party id is missing or malformed")
    return site, pseudonyms.visitor_id(collector.ctx.secret, site, vid)


def _handler(limiter: Limiter, act: str) -> Any:
    async def handle(request: Request) -> Response:
        collector = request.app.state.collector
        cors = _cors(collector, request)
        info = ingest.info_of(request.scope)
        try:
            doc = await _body(request)
            site = doc["site"] if isinstance(doc.get("site"), str) else ""
            wait = limiter.take((site, network(_client(info, collector.ctx))), collector.clock())
            if wait:
                raise ClientError(Kind.RATE_LIMITED, "rate_limited", "too many requests", wait)
            site, visitor = _identify(collector, doc, info)
            result = await run_in_threadpool(_act, collector, act, site, visitor)
        except ClientError as exc:
            response = error_response(exc)
            response.headers.update(cors)
            return response
        return json_response(200, result, cors)

    return handle


def _act(collector: Any, act: str, site: str, visitor: int) -> dict[str, Any]:
    if collector.writer is not None:
        collector.writer.flush()
    export = rights.export_visitor(collector.store, site, visitor, collector.clock())
    if not export["events"] and not export["consent_receipts"]:
        raise ClientError(Kind.NOT_FOUND, "not_found", "nothing is stored for this id")
    if act == "export":
        return export
    report = rights.delete_visitor(collector.store, site, visitor)
    return {k: report[k] for k in ("site", "visitor_id", "deleted", "verified")}


async def preflight(request: Request) -> Response:
    headers = _cors(request.app.state.collector, request)
    if headers:
        headers |= {"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Max-Age": "86400"}
    return Response(status_code=204, headers=headers)


def routes() -> list[Route]:
    limiter = Limiter()
    return [
        Route("/api/visitor/export", _handler(limiter, "export"), methods=["POST"]),
        Route("/api/visitor/delete", _handler(limiter, "delete"), methods=["POST"]),
        Route("/api/visitor/export", preflight, methods=["OPTIONS"]),
        Route("/api/visitor/delete", preflight, methods=["OPTIONS"]),
    ]
