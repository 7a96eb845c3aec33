"""The HTTP edge: uvicorn's httptools protocol held to limits it does not have of its own.

uvicorn has no limit on header size or count and no deadline for receiving a request (its keep-alive
timer only runs between requests), so one client could hold thousands of connections with
unfinished heads and grow the process by every byte it sent. Here, for every route:

- the head (request line and headers) is at most `max_header_bytes`, counted as bytes arrive: 431;
- at most `max_headers` headers: 431; a request target over `max_url_bytes`: 414;
- a request must arrive whole (head and body) within `request_deadline_s` of its first byte, and a
  connection may wait `idle_timeout_s` for a request (after connecting, or between requests), and a
  response may sit unread in the send buffer as long as a request may take to arrive; past any of
  these the connection is cut without an answer;
- new connections past the process's cap, or past one client network's cap, are closed at once.

Each hit is counted in `collector_edge_limit_hits_total{limit=...}` (see `connections.Connections`).
`server_config` builds the uvicorn config that uses this protocol; it applies per process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .connections import NEVER, Connections, EdgeLimits, Refused
from .ingest import CSP_OTHER
from .metrics import Metrics
from .settings import Settings

log = logging.getLogger("collector.edge")
# After a 4xx the server half-closes and discards what the client still sends for this long, so the
# client reads the answer instead of a reset (closing a socket with unread input sends RST).
LINGER_S = 2.0
_ANSWERS = {
    "header_bytes": (431, "Request Header Fields Too Large", "headers_too_large", "the request head is too large"),
    "header_count": (431, "Request Header Fields Too Large", "too_many_headers", "the request has too many headers"),
    "url_bytes": (414, "URI Too Long", "url_too_long", "the request target is too long"),
}


def _answer(status: int, reason: str, error: str, detail: str) -> bytes:
    body = b'{"error":"%s","detail":"%s"}' % (error.encode(), detail.encode())
    return b"".join([b"HTTP/1.1 %d %s\r\n" % (status, reason.encode()), b"content-type: application/json\r\n",
                     b"content-security-policy: %s\r\n" % CSP_OTHER.encode(), b"x-content-type-options: nosniff\r\n",
                     b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body), body])


ANSWERS = {kind: _answer(*spec) for kind, spec in _ANSWERS.items()}


class _Over(Exception):
    """Raised from a parser callback to stop parsing: a limit is reached (`kind`)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class EdgeConfig(uvicorn.Config):
    """uvicorn's config plus the edge limits; the per-process state is made when the config loads,
    in the process that serves (it is never shared between worker processes)."""

    def __init__(self, app: Any, *, limits: EdgeLimits, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(app, http=EdgeProtocol, **kwargs)
        self.limits = limits
        self.metrics = metrics
        self.connections: Connections | None = None

    def load(self) -> None:
        super().load()
        self.connections = Connections(self.limits, self.metrics)
        log.info("edge limits", extra={"max_connections": self.limits.max_connections,
                                       "max_connections_per_network": self.limits.max_connections_per_network})


def server_config(app: Any, settings: Settings, **kwargs: Any) -> EdgeConfig:
    """The uvicorn config the collector serves with: the edge limits from `settings` (counted in the
    app's metrics), no access log, no Server header; `kwargs` (where to listen, and any other option)
    go to uvicorn.Config as they are."""
    limits = EdgeLimits.from_settings(settings)
    # No websockets: the collector serves none, and an upgraded connection would leave the edge's hands.
    options: dict[str, Any] = {"log_config": None, "access_log": False, "server_header": False,
                               "proxy_headers": False, "ws": "none"}
    return EdgeConfig(app, limits=limits, metrics=app.state.collector.metrics, **(options | kwargs))


class EdgeProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with the limits above. `deadline` (loop time) is when the connection is cut
    unless something moves it: idle until the first byte, then the request deadline until the message
    is complete, then never while the app answers, then idle again once the answer is written."""

    def __init__(self, config: EdgeConfig, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert config.connections is not None
        self.edge = config.connections
        self.limits = limits = config.limits
        # The limits the parser callbacks read, as plain attributes (they run for every header).
        self._max_head = limits.max_header_bytes
        self._max_headers = limits.max_headers
        self._max_url = limits.max_url_bytes
        self._request_s = limits.request_deadline_s
        self.deadline = NEVER
        self.expiry = "idle_timeout"
        self._key: str | None = None
        self._admitted = False
        self._in_head = True  # the next bytes belong to a request head
        self._head_bytes = 0
        self._heads = 0  # heads completed on this connection
        self._discarding = False
        self._saved: tuple[float, str] | None = None  # the deadline a stalled write replaced

    # Connection life
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        try:
            self._key = self.edge.admit(self, peer[0] if isinstance(peer, tuple) else None, self.loop)
        except Refused as over:
            self.edge.hit(over.kind)
            transport.abort()
            return
        self._admitted = True
        super().connection_made(transport)
        self._expect("idle_timeout", self.limits.idle_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self.edge.release(self, self._key)
        super().connection_lost(exc)

    def expire(self) -> None:
        """Called by the sweep once `deadline` has passed: count it (a linger is already counted), cut."""
        if self.expiry != "linger":
            self.edge.hit(self.expiry)
        self.deadline = NEVER
        self.transport.abort()

    def _expect(self, kind: str, seconds: float) -> None:
        self.expiry = kind
        self.deadline = self.loop.time() + seconds

    # Bytes in
    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head:
                self._over_budget(data)
                return
        try:  # uvicorn's data_received, less its keep-alive timer (the sweep replaces it)
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._parse_error(exc)
        except httptools.HttpParserUpgrade:
            self._upgrade()

    def _over_budget(self, data: bytes) -> None:
        """The head budget ends inside `data`: parse up to the budget; if that finishes the head, go on
        with the rest, otherwise the head is too large."""
        allowed = self.limits.max_header_bytes - (self._head_bytes - len(data))
        heads = self._heads
        if not self._feed(data[:allowed]) or self._discarding:
            return
        if self._heads == heads:
            self._refuse("header_bytes")
            return
        self._head_bytes = 0
        self.data_received(data[allowed:])

    def _feed(self, data: bytes) -> bool:
        """Parse `data`; False if the connection was refused or answered 400."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._parse_error(exc)
            return False
        except httptools.HttpParserUpgrade:
            self._upgrade()
        return True

    def _parse_error(self, exc: httptools.HttpParserError) -> None:
        if isinstance(exc, httptools.HttpParserCallbackError) and isinstance(exc.__context__, _Over):
            self._refuse(exc.__context__.kind)
            return
        self.logger.warning("Invalid HTTP request received.")
        self.send_400_response("Invalid HTTP request received.")

    def _upgrade(self) -> None:
        if self._should_upgrade():
            self.handle_websocket_upgrade()
        else:
            self._unsupported_upgrade_warning()

    def _refuse(self, kind: str) -> None:
        """Answer the limit's 4xx and half-close, then discard input until the client closes or the
        linger ends; if an answer to an earlier request is still being written, just cut."""
        self.edge.hit(kind)
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.abort()
            return
        self.transport.write(ANSWERS[kind])
        self._discarding = True
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._expect("linger", LINGER_S)

    # Parser callbacks (uvicorn's, plus the limits)
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.expiry = "request_deadline"
        self.deadline = self.loop.time() + self._request_s

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self._max_url:
            raise _Over("url_bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= self._max_headers:
            raise _Over("header_count")
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        if self.cycle is not None and self.cycle.response_complete:  # answered early (a 413): idle from here
            self._expect("idle_timeout", self.limits.idle_timeout_s)
        else:
            self.deadline = NEVER  # the app is answering; its own limits bound that
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif self._in_head:  # the whole request has arrived: the keep-alive wait begins
            self._expect("idle_timeout", self.limits.idle_timeout_s)

    def _unsupported_upgrade_warning(self) -> None:
        """An Upgrade header is answered as plain HTTP; uvicorn would log two lines per such request."""

    # Bytes out
    def pause_writing(self) -> None:
        """The client does not read its answers: give it as long as a request may take to arrive."""
        super().pause_writing()
        if self._saved is None:
            self._saved = (self.deadline, self.expiry)
            if self.deadline > self.loop.time() + self.limits.request_deadline_s:
                self._expect("slow_read", self.limits.request_deadline_s)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._saved is not None:
            self.deadline, self.expiry = self._saved
            self._saved = None
