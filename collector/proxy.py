"""An embedded worker's ASGI app: ingest, the tracker, health and /metrics served here; every other route
(the read side, /sql, dashboards, admin, privacy, visitor rights, ...) streamed to the store owner over
its Unix socket, with the client address the worker saw in a header only the owner believes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from .admin import json_response
from .handoff import FLUSH, PEER_HEADER, PREFIX, TOKEN_HEADER
from .ingest import PATH
from .state import TRACKER_FILES

# Paths a worker answers itself: everything on the write path, and what a load balancer probes.
LOCAL = frozenset({PATH, PATH + ".gif", "/healthz", "/readyz", "/metrics", *(f"/{n}" for n in TRACKER_FILES)})
# Hop-by-hop headers (RFC 9110 7.6.1) and ours, which a client must never set.
_DROP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding",
                   b"upgrade", TOKEN_HEADER.encode(), PEER_HEADER.encode()})
# The worker's own server writes these on the answer.
_DROP_ANSWER = _DROP | {b"date", b"server"}
# Reads may run long (/sql); connecting to a live owner never does.
TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=60.0, pool=10.0)
RETRY_AFTER_S = 1


class WorkerApp:
    def __init__(self, app: Any, owner_socket: Path, token: str) -> None:
        self.app = app
        self.state = app.state
        self.token = token
        # httpx logs every request's URL at INFO: a query string (SQL, a visitor id) must never reach a log.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.client = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(owner_socket)),
                                        base_url="http://owner", timeout=TIMEOUT)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in LOCAL:
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(PREFIX):
            if scope["path"] == FLUSH and dict(scope["headers"]).get(TOKEN_HEADER.encode()) == self.token.encode():
                await asyncio.to_thread(self.state.collector.writer.flush)  # the owner's flush barrier
                await json_response(200, {"status": "flushed"})(scope, receive, send)
                return
            await json_response(404, {"error": "not_found", "detail": ""})(scope, receive, send)
            return
        await self.forward(scope, receive, send)

    async def forward(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in _DROP]
        headers.append((TOKEN_HEADER.encode(), self.token.encode()))
        if scope.get("client"):
            headers.append((PEER_HEADER.encode(), scope["client"][0].encode("latin-1")))
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        request = self.client.build_request(scope["method"], target.decode("latin-1"), headers=headers,
                                            content=_body(receive))
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TransportError:
            answer = json_response(503, {"error": "unavailable", "detail": "the store owner is restarting; retry"})
            answer.headers["retry-after"] = str(RETRY_AFTER_S)
            await answer(scope, receive, send)
            return
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in _DROP_ANSWER]})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


async def _body(receive: Any) -> AsyncIterator[bytes]:
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = message.get("more_body", False)
        if chunk := message.get("body", b""):
            yield chunk
