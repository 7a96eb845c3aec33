"""The Starlette application: HTTP in, validated events to the pipeline, rows to the writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import admin, inventory, openapi, pipeline, receipts, rights, visitor
from . import config as config_mod
from . import request as edge
from .admin import json_response
from .errors import ClientError, Kind
from .event import RequestInfo
from .minimise import host_of
from .settings import Settings
from .spool import SpoolFull
from .state import TRACKER_FILES, Collector, build_collector, open_spool
from .store import Store, migrate, open_store
from .writer import Overloaded, Writer

log = logging.getLogger("collector.app")
GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
       b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
RETRY_AFTER_S = 5
# Every response: no framing, no sniffing; an HTML page may load only its own resources.
CSP_HTML = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
CSP_OTHER = "default-src 'none'; frame-ancestors 'none'"


def request_info(request: Request) -> RequestInfo:
    headers = request.headers
    forwarded = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    if not forwarded and "forwarded" in headers:
        forwarded = [p.split("=", 1)[1].strip('"[]').rsplit("]", 1)[0]
                     for part in headers["forwarded"].split(",") for p in part.split(";")
                     if p.strip().lower().startswith("for=")]
    origin = headers.get("origin") or headers.get("referer") or ""
    return RequestInfo(
        peer=request.client.host if request.client else "",
        forwarded_for=tuple(forwarded), user_agent=headers.get("user-agent", ""),
        origin_host=host_of(origin) if origin and origin != "null" else "",
        gpc=headers.get("sec-gpc") == "1", dnt=headers.get("dnt") == "1",
    )


async def read_body(request: Request, timeout_s: float = 10.0) -> bytes:
    """The body, refused past MAX_BODY_BYTES whether announced by Content-Length or streamed, or
    not complete within `timeout_s` (a slow trickle)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > edge.MAX_BODY_BYTES):
        raise ClientError(Kind.TOO_LARGE, "too_large", f"body exceeds {edge.MAX_BODY_BYTES} bytes")
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > edge.MAX_BODY_BYTES:
                    raise ClientError(Kind.TOO_LARGE, "too_large", f"body exceeds {edge.MAX_BODY_BYTES} bytes")
    except TimeoutError:
        raise ClientError(Kind.INVALID, "body_timeout", "the body did not arrive in time") from None
    return bytes(body)


def _cors(collector: Collector, request: Request, items: list[Any] | None = None) -> dict[str, str]:
    """CORS for an origin some site allows (preflight, errors before the body is read); once the body
    is read, only when every site the events name allows it."""
    origin = request.headers.get("origin", "")
    host = host_of(origin) if origin else ""
    if not host:
        return {}
    sites = collector.config.sites
    named = {item.get("site") for item in items if isinstance(item, dict)} if items is not None else set()
    allowed = (all(isinstance(s, str) and s in sites and sites[s].allows_host(host) for s in named) and bool(named)
               if items is not None else collector.config.any_site_allows(host))
    if not allowed:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": "Retry-After"}


def accept(collector: Collector, items: list[Any], info: RequestInfo) -> tuple[dict[str, Any], Future[int]]:
    """Validate, rate-limit, run the pipeline and append the rows to the spool; the answer body of a
    202 and the future that resolves once the rows are durable."""
    now_ms = int(collector.clock() * 1000)
    window = (collector.settings.ts_past_window_s * 1000, collector.settings.ts_future_window_s * 1000)
    events = edge.build(items, collector.validate, info, now_ms, window)
    if collector.limits is not None:
        collector.limits.take(Counter(event.site for event in events))
    metrics = collector.metrics
    metrics.inc("collector_events_received_total", len(events))
    rows, dropped = pipeline.run(events, collector.ctx)
    if any(reason.rejects_request for _, reason in dropped):
        raise ClientError(Kind.FORBIDDEN, "origin_not_allowed", "this origin may not send events for the site")
    assert collector.writer is not None
    try:
        durable = collector.writer.enqueue(rows, dropped.items())
    except Overloaded:
        raise ClientError(Kind.UNAVAILABLE, "overloaded", "try again later", RETRY_AFTER_S) from None
    if collector.consent_worker is not None:
        collector.consent_worker.erase(receipts.withdrawals(rows))
    by_reason: dict[str, int] = {}
    for (_, reason), n in dropped.items():
        by_reason[reason.value] = by_reason.get(reason.value, 0) + n
        metrics.inc("collector_events_dropped_total", n, reason=reason.value)
    metrics.inc("collector_events_accepted_total", len(rows))
    return {"accepted": len(rows), "dropped": by_reason}, durable


async def accept_durably(collector: Collector, items: list[Any], info: RequestInfo) -> dict[str, Any]:
    """`accept`, answering only once the rows are durable (group commit): a 202 is never a promise
    the spool has not kept."""
    result, durable = accept(collector, items, info)
    try:
        await asyncio.wrap_future(durable)
    except SpoolFull:
        raise ClientError(Kind.UNAVAILABLE, "overloaded", "try again later", RETRY_AFTER_S) from None
    return result


def _refuse_early(collector: Collector, request: Request) -> None:
    """Refusals that need no body: shutting down, an Authorization header (ingest is public and takes
    no credential; any one is refused alike, so this path reveals nothing about the admin token)."""
    if not collector.ready:
        raise ClientError(Kind.UNAVAILABLE, "shutting_down", "the collector is stopping; retry later", 1)
    if "authorization" in request.headers:
        raise ClientError(Kind.FORBIDDEN, "credential_not_allowed", "the ingest endpoint takes no credentials")


def _collector(request: Request) -> Collector:
    return request.app.state.collector  # type: ignore[no-any-return]


def _error(collector: Collector, exc: ClientError, headers: dict[str, str] | None = None) -> Response:
    collector.metrics.inc("collector_requests_rejected_total", error=exc.error)
    headers = dict(headers or {})
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    return json_response(exc.status, exc.body(), headers)


async def ingest(request: Request) -> Response:
    collector = _collector(request)
    cors = _cors(collector, request)
    assert collector.saturation is not None
    try:
        _refuse_early(collector, request)
        edge.check_content_type(request.headers.get("content-type", ""))
        body = await read_body(request, collector.settings.body_read_timeout_ms / 1000)
        items = edge.decode(edge.inflate(body, request.headers.get("content-encoding", "")))
        cors = _cors(collector, request, items)
        with collector.saturation.slot({str(i.get("site"))[:100] for i in items if isinstance(i, dict)}):
            result = await accept_durably(collector, items, request_info(request))
    except ClientError as exc:
        return _error(collector, exc, cors)
    return json_response(202, result, cors)


async def preflight(request: Request) -> Response:
    headers = _cors(_collector(request), request)
    if headers:
        headers |= {"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Max-Age": "86400"}
    return Response(status_code=204, headers=headers)


async def pixel(request: Request) -> Response:
    """The no-JS pixel: always a 1x1 GIF; invalid input is counted, never stored."""
    collector = _collector(request)
    q = request.query_params
    item = {"site": q.get("site", ""), "type": "pageview", "url": q.get("url") or request.headers.get("referer", ""),
            "consent": {}}
    if q.get("ref"):
        item["referrer"] = q["ref"]
    try:
        _refuse_early(collector, request)
        await accept_durably(collector, [item], request_info(request))
    except ClientError as exc:
        collector.metrics.inc("collector_requests_rejected_total", error=exc.error)
    return Response(GIF, media_type="image/gif", headers={"Cache-Control": "no-store"})


async def tracker(request: Request) -> Response:
    body, etag = _collector(request).tracker[request.url.path.rsplit("/", 1)[-1]]
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


async def healthz(request: Request) -> Response:
    return json_response(200, {"status": "ok"})


async def readyz(request: Request) -> Response:
    ready = _collector(request).ready
    return json_response(200 if ready else 503, {"status": "ready" if ready else "not ready"})


async def metrics(request: Request) -> Response:
    return Response(_collector(request).metrics.render(), media_type="text/plain; version=0.0.4")


class SecurityHeaders:
    """Adds a Content-Security-Policy and nosniff to every response (HTML pages get a page policy)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                html = any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                headers += [(b"content-security-policy", (CSP_HTML if html else CSP_OTHER).encode()),
                            (b"x-content-type-options", b"nosniff")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class IngestFastPath:
    """POST /api/event straight to its handler, past the router and exception middleware: the hot
    path. The handler answers every client error itself; anything else still reaches Starlette's
    server-error middleware, and SecurityHeaders (outside this) still adds its headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/api/event":
            response = await ingest(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(settings: Settings, clock: Callable[[], float] = time.time, store: Store | None = None) -> Starlette:
    collector = build_collector(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = store or open_store(settings)
        collector.store = db
        migrate(db)
        collector.writer = Writer(
            db, collector.metrics, open_spool(settings), clock=clock, retry_max_s=settings.retry_max_ms / 1000,
            drop_retention=lambda site: (collector.config.sites[site].rollup_retention_days
                                         if site in collector.config.sites else config_mod.DEFAULT_ROLLUP_DAYS),
        )
        collector.writer.start()
        collector.consent_worker = worker = rights.consent_worker(db, collector.writer, collector.ctx)
        worker.start()
        collector.ready = True
        log.info("collector ready", extra={"sites": len(collector.config.sites),
                                           "store": "embedded" if db.embedded else "server"})
        try:
            yield
        finally:
            collector.ready = False
            worker.close()
            collector.writer.close()
            if store is None:
                db.close()
            collector.ctx.geo.close()
            log.info("collector stopped")

    routes = [
        Route("/api/event", ingest, methods=["POST"]),
        Route("/api/event", preflight, methods=["OPTIONS"]),
        Route("/api/event.gif", pixel, methods=["GET"]),
        *(Route(f"/{name}", tracker, methods=["GET"]) for name in TRACKER_FILES),
        Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics),
        *admin.routes(), *visitor.routes(), *inventory.routes(), *openapi.routes(),
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(IngestFastPath)]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.collector = collector
    return app
