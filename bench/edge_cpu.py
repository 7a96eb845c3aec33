"""CPU per request of the edge protocol against uvicorn's own httptools protocol, without sockets.

A browser-like beacon (11 headers, a 200-byte body) is fed to each protocol on one uvloop event loop,
answered by a minimal ASGI app, over and over; the protocols alternate in rounds and the medians of
their CPU times are compared. Sockets, the kernel and the collector's app are left out, so the figure
is the edge's own cost, which a loaded shared machine disturbs far less than an HTTP load test.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from collector.http_edge import server_config
from collector.metrics import Metrics
from collector.settings import Settings

BODY = b'{"site":"bench.example","type":"pageview","url":"https://bench.example/pricing?utm_source=news",' \
       b'"referrer":"https://news.example/item?id=1","consent":{}}' + b" " * 60
REQUEST = (b"POST /api/event HTTP/1.1\r\nHost: stats.example.com\r\nConnection: keep-alive\r\n"
           b"Content-Length: %d\r\nContent-Type: text/plain;charset=UTF-8\r\nOrigin: https://bench.example\r\n"
           b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\n"
           b"Accept: */*\r\nAccept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
           b"Referer: https://bench.example/pricing\r\nSec-GPC: 1\r\n\r\n%s") % (len(BODY), BODY)
ANSWER = b'{"accepted":1,"dropped":{}}'


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 202,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"27")]})
    await send({"type": "http.response.body", "body": ANSWER})


class _App:
    """The minimal app, with the `state.collector.metrics` that `server_config` counts hits in."""

    class state:  # noqa: N801
        class collector:  # noqa: N801
            metrics = Metrics()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await _app(scope, receive, send)


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("198.51.100.7", 40000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += len(data)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def close(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _cpu_per_request(config: uvicorn.Config, requests: int) -> float:
    """Microseconds of CPU per request through one keep-alive connection of `config`'s protocol."""
    if not config.loaded:
        config.load()
    protocol: HttpToolsProtocol = config.http_protocol_class(  # type: ignore[call-arg, assignment]
        config=config, server_state=ServerState(), app_state={})
    transport = _Transport()
    protocol.connection_made(transport)
    start = time.process_time()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        await asyncio.sleep(0)  # the app's task runs and answers
    spent = time.process_time() - start
    assert transport.written > requests * len(ANSWER)
    protocol.connection_lost(None)
    return spent / requests * 1e6


def compare(requests: int = 20_000, rounds: int = 7) -> dict[str, float]:
    """Median CPU microseconds per request: uvicorn's protocol, the edge protocol, and their ratio."""
    app = _App()
    plain = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", proxy_headers=False)
    edge = server_config(app, Settings(), lifespan="off")
    runs: dict[str, list[float]] = {"uvicorn": [], "edge": []}
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        for _ in range(rounds):
            runs["uvicorn"].append(runner.run(_cpu_per_request(plain, requests)))
            runs["edge"].append(runner.run(_cpu_per_request(edge, requests)))
    medians = {name: statistics.median(values) for name, values in runs.items()}
    return {**medians, "ratio": medians["edge"] / medians["uvicorn"]}
