"""POST /api/event, the hot path, as a raw ASGI endpoint: one pass over the headers, the body as it
arrives, the edge, the pipeline, the spool, one pre-encoded answer. Starlette's Request and Response
objects, its router and its middleware stack stay off this path (each cost more than the pipeline);
every other route, and the no-JS pixel, still goes through Starlette and shares `accept_durably`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from . import crashpoints, pipeline, receipts
from . import request as edge
from .errors import ClientError, Kind
from .event import RequestInfo
from .minimise import host_of
from .spool import SpoolFull
from .state import Collector
from .writer import Overloaded

log = logging.getLogger("collector.ingest")
RETRY_AFTER_S = 5
PATH = "/api/event"
# Every response: no framing, no sniffing; an HTML page may load only its own resources.
CSP_HTML = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
CSP_OTHER = "default-src 'none'; frame-ancestors 'none'"
_BASE_HEADERS = ((b"content-type", b"application/json"), (b"content-security-policy", CSP_OTHER.encode()),
                 (b"x-content-type-options", b"nosniff"))
# The request headers the ingest path reads; every other one is skipped in the single pass over them.
_WANTED = frozenset({b"content-type", b"content-length", b"content-encoding", b"origin", b"referer",
                     b"user-agent", b"x-forwarded-for", b"forwarded", b"sec-gpc", b"dnt", b"authorization"})


def headers_of(raw: Iterable[tuple[bytes, bytes]], wanted: frozenset[bytes] = _WANTED) -> dict[str, str]:
    """The wanted headers by lower-case name; a repeated header is joined with ", " (RFC 9110 5.3),
    so a second X-Forwarded-For line cannot hide the hops of the first."""
    out: dict[str, str] = {}
    for key, value in raw:
        if key in wanted:
            name = key.decode()
            text = value.decode("latin-1")
            out[name] = f"{out[name]}, {text}" if name in out else text
    return out


def request_info(headers: Mapping[str, str], peer: str) -> RequestInfo:
    """What the pipeline may learn about the sender; `peer` is the TCP peer's address."""
    forwarded = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    if not forwarded and "forwarded" in headers:
        forwarded = [p.split("=", 1)[1].strip('"[]').rsplit("]", 1)[0]
                     for part in headers["forwarded"].split(",") for p in part.split(";")
                     if p.strip().lower().startswith("for=")]
    origin = headers.get("origin") or headers.get("referer") or ""
    return RequestInfo(
        peer=peer, forwarded_for=tuple(forwarded), user_agent=headers.get("user-agent", ""),
        origin_host=host_of(origin) if origin and origin != "null" else "",
        gpc=headers.get("sec-gpc") == "1", dnt=headers.get("dnt") == "1",
    )


def info_of(scope: Mapping[str, Any]) -> RequestInfo:
    """request_info for an ASGI scope (a Starlette request's `.scope`): its headers and TCP peer."""
    client = scope.get("client")
    return request_info(headers_of(scope["headers"]), client[0] if client else "")


def cors_allowed(collector: Collector, origin: str, items: list[Any] | None = None) -> bool:
    """CORS for an origin some site allows (preflight, errors before the body is read); once the body
    is read, only when every site the events name allows it."""
    host = host_of(origin) if origin else ""
    if not host:
        return False
    if items is None:
        return collector.config.any_site_allows(host)
    sites = collector.config.sites
    named = {item.get("site") for item in items if isinstance(item, dict)}
    return bool(named) and all(isinstance(s, str) and s in sites and sites[s].allows_host(host) for s in named)


def refuse_early(collector: Collector, headers: Mapping[str, str]) -> None:
    """Refusals that need no body: shutting down, an Authorization header (ingest is public and takes
    no credential; any one is refused alike, so this path reveals nothing about the admin token)."""
    if not collector.ready:
        raise ClientError(Kind.UNAVAILABLE, "shutting_down", "the collector is stopping; retry later", 1)
    if "authorization" in headers:
        raise ClientError(Kind.FORBIDDEN, "credential_not_allowed", "the ingest endpoint takes no credentials")


def accept(collector: Collector, items: list[Any], info: RequestInfo,
           loop: asyncio.AbstractEventLoop) -> tuple[dict[str, Any], asyncio.Future[int]]:
    """Validate, rate-limit, run the pipeline and append the rows to the spool; the answer body of a
    202 and the future that resolves once the rows are durable."""
    now_ms = int(collector.clock() * 1000)
    window = (collector.settings.ts_past_window_s * 1000, collector.settings.ts_future_window_s * 1000)
    events = edge.build(items, collector.validate, info, now_ms, window)
    if collector.limits is not None and collector.limits.active:
        collector.limits.take(Counter(event.site for event in events))
    metrics = collector.metrics
    metrics.inc("collector_events_received_total", len(events))
    rows, dropped = pipeline.run(events, collector.ctx)
    if any(reason.rejects_request for _, reason in dropped):
        raise ClientError(Kind.FORBIDDEN, "origin_not_allowed", "this origin may not send events for the site")
    assert collector.writer is not None
    try:
        durable = collector.writer.enqueue(rows, dropped.items(), loop)
    except Overloaded:
        raise ClientError(Kind.UNAVAILABLE, "overloaded", "try again later", RETRY_AFTER_S) from None
    if collector.consent_worker is not None:
        collector.consent_worker.erase(receipts.withdrawals(rows))
    by_reason: dict[str, int] = {}
    for (_, reason), n in dropped.items():
        by_reason[reason.value] = by_reason.get(reason.value, 0) + n
        metrics.inc("collector_events_dropped_total", n, reason=reason.value)
    metrics.inc("collector_events_accepted_total", len(rows))
    return {"accepted": len(rows), "dropped": by_reason}, durable  # type: ignore[return-value]


async def accept_durably(collector: Collector, items: list[Any], info: RequestInfo,
                         loop: asyncio.AbstractEventLoop | None = None) -> dict[str, Any]:
    """`accept` within a saturation slot, answering only once the rows are durable (group commit): a
    202 is never a promise the spool has not kept."""
    saturation = collector.saturation
    assert saturation is not None
    sites = {str(i.get("site"))[:100] for i in items if isinstance(i, dict)}
    saturation.acquire(sites)
    try:
        result, durable = accept(collector, items, info, loop or asyncio.get_running_loop())
        await durable
        crashpoints.reached("ack")
    except SpoolFull:
        raise ClientError(Kind.UNAVAILABLE, "overloaded", "try again later", RETRY_AFTER_S) from None
    finally:
        saturation.release(sites)
    return result


class BodyDeadlines:
    """The slow-body defence at the cost of a dict entry per request: reads in progress are registered
    with their deadline, and one timer a second cancels those past it (a per-request timeout costs
    more than the rest of reading a beacon)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._reads: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    async def read(self, receive: Any, content_length: str | None, loop: asyncio.AbstractEventLoop) -> bytes:
        """The body, refused past MAX_BODY_BYTES whether announced by Content-Length or streamed, or
        not complete within the timeout (a slow trickle). `loop` is the running loop (looking it up
        costs a system call per lookup)."""
        if content_length is not None and (not content_length.isdigit() or int(content_length) > edge.MAX_BODY_BYTES):
            raise ClientError(Kind.TOO_LARGE, "too_large", f"body exceeds {edge.MAX_BODY_BYTES} bytes")
        task = asyncio.current_task(loop)
        assert task is not None
        self._reads[task] = time.monotonic() + self.timeout_s
        if self._timer is None:
            self._timer = loop.call_later(1.0, self._sweep)
        try:
            return await _receive_body(receive)
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            task.uncancel()
            raise ClientError(Kind.INVALID, "body_timeout", "the body did not arrive in time") from None
        finally:
            del self._reads[task]

    def _sweep(self) -> None:
        now = time.monotonic()
        for task, deadline in list(self._reads.items()):
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        self._timer = asyncio.get_running_loop().call_later(1.0, self._sweep) if self._reads else None


async def _receive_body(receive: Any) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):  # the usual beacon: the whole body in one message
        if len(body) > edge.MAX_BODY_BYTES:
            raise ClientError(Kind.TOO_LARGE, "too_large", f"body exceeds {edge.MAX_BODY_BYTES} bytes")
        return body
    buffer = bytearray(body)
    while message.get("more_body", False):
        message = await receive()
        buffer += message.get("body", b"")
        if len(buffer) > edge.MAX_BODY_BYTES:
            raise ClientError(Kind.TOO_LARGE, "too_large", f"body exceeds {edge.MAX_BODY_BYTES} bytes")
    return bytes(buffer)


def _cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin"),
            (b"access-control-expose-headers", b"Retry-After")]


class Ingest:
    """The ASGI endpoint for POST /api/event. Client errors are answered here, with the same JSON
    bodies and headers as every other route; a bug is logged (type and place only) and answered 500."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.deadlines = BodyDeadlines(collector.settings.body_read_timeout_ms / 1000)
        self.observe = collector.metrics.observer("collector_request_duration_seconds", route="ingest")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = time.perf_counter()
        try:
            status, body, headers = await self.handle(scope, receive)
        except Exception:
            log.exception("ingest failed")
            status, body, headers = 500, b'{"error":"internal_error","detail":""}', []
        await send({"type": "http.response.start", "status": status,
                    "headers": [*_BASE_HEADERS, (b"content-length", b"%d" % len(body)), *headers]})
        await send({"type": "http.response.body", "body": body})
        self.observe(time.perf_counter() - start)

    async def handle(self, scope: Any, receive: Any) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        collector = self.collector
        loop = asyncio.get_running_loop()
        headers = headers_of(scope["headers"])
        origin = headers.get("origin", "")
        items = None
        try:
            refuse_early(collector, headers)
            edge.check_content_type(headers.get("content-type", ""))
            body = await self.deadlines.read(receive, headers.get("content-length"), loop)
            items = edge.decode(edge.inflate(body, headers.get("content-encoding", "")))
            client = scope.get("client")
            result = await accept_durably(collector, items, request_info(headers, client[0] if client else ""), loop)
        except ClientError as exc:
            collector.metrics.inc("collector_requests_rejected_total", error=exc.error)
            extra = _cors_headers(origin) if origin and cors_allowed(collector, origin, items) else []
            if exc.retry_after_s is not None:
                extra.append((b"retry-after", b"%d" % exc.retry_after_s))
            return exc.status, orjson.dumps(exc.body()), extra
        cors = origin != "" and cors_allowed(collector, origin, items)
        return 202, orjson.dumps(result), _cors_headers(origin) if cors else []
