"""Edge figures: what hostile connections cost the collector (`python -m bench edge`).

- Oversized heads: 800 connections each send 1 MB of one header that never ends, 64 KiB at a time,
  from 8 client networks (100 each, under the per-network cap, so the head limit is what is measured);
  the collector's RSS growth over its idle RSS, peak while they send and after they are gone.
- Slow connections: one client address opens 2,000 connections that each send half a request head and
  then nothing; how many the collector still holds after a second (target: the per-network cap), and
  how many after the request deadline (target: none).
- The edge's own CPU per request against uvicorn's protocol (`bench/edge_cpu.py`).
Everything goes to 127.0.0.1; the collector runs with its defaults.
"""

from __future__ import annotations

import contextlib
import errno
import resource
import socket
import time
from typing import Any

from . import edge_cpu, servers
from .table import Row

HEAD_BYTES = 1 << 20
HEAD_CONNECTIONS = 800
HEAD_NETWORKS = 8
SLOW_CONNECTIONS = 2_000
SLOW_HEAD = b"POST /api/event HTTP/1.1\r\nHost: bench.example\r\nContent-Type: appl"
# The collector's defaults (collector/settings.py), which this part does not override.
PER_NETWORK_CAP = 256
REQUEST_DEADLINE_S = 10.0


def _connect(port: int, source: str) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def _closed(sock: socket.socket) -> bool:
    """The server has closed (or reset) this connection; reads and drops what it sent first."""
    try:
        while chunk := sock.recv(65536):
            del chunk
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def oversized_heads(server: servers.Server) -> dict[str, Any]:
    """Send the heads, sampling RSS; the answers seen and the RSS figures in MB."""
    idle = server.rss_mb()
    socks = [_connect(server.port, f"127.0.{10 + n % HEAD_NETWORKS}.{1 + n // HEAD_NETWORKS}")
             for n in range(HEAD_CONNECTIONS)]
    for sock in socks:
        sock.send(b"POST /api/event HTTP/1.1\r\nHost: bench.example\r\nX-Big: ")
    chunk = b"a" * 65536
    sent = dict.fromkeys(socks, 0)
    answers: dict[bytes, int] = {}
    unanswered = set(socks)
    peak = idle
    stop = time.monotonic() + 120
    while sent and time.monotonic() < stop:
        for sock in list(sent):
            if sock in unanswered:
                with contextlib.suppress(BlockingIOError, OSError):
                    status = sock.recv(12)[9:12] or b"closed"
                    answers[status] = answers.get(status, 0) + 1
                    unanswered.discard(sock)
            try:
                sent[sock] += sock.send(chunk)
            except BlockingIOError:
                continue
            except OSError:  # cut by the server
                del sent[sock]
                continue
            if sent[sock] >= HEAD_BYTES:
                del sent[sock]
        peak = max(peak, server.rss_mb())
    for sock in socks:
        sock.close()
    answers[b"none"] = len(unanswered)
    time.sleep(2)
    return {"idle_mb": idle, "peak_mb": peak, "after_mb": server.rss_mb(), "answers": answers}


def slow_heads(server: servers.Server, count: int) -> dict[str, Any]:
    """Open `count` slow connections from one address; how many are held after 1 s and after the deadline."""
    socks = []
    for _ in range(count):
        try:
            sock = _connect(server.port, "127.0.0.2")
            sock.send(SLOW_HEAD)
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                raise
            continue
        socks.append(sock)
    time.sleep(1.0)
    held = [s for s in socks if not _closed(s)]
    held_1s = len(held)
    stop = time.monotonic() + REQUEST_DEADLINE_S + 5
    while held and time.monotonic() < stop:
        time.sleep(0.25)
        held = [s for s in held if not _closed(s)]
    for sock in socks:
        sock.close()
    return {"opened": count, "held_after_1s": held_1s, "held_after_deadline": len(held)}


def run() -> tuple[list[Row], dict[str, Any]]:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    slow = min(SLOW_CONNECTIONS, soft - 256)
    with servers.collector() as server:
        heads = oversized_heads(server)
        time.sleep(REQUEST_DEADLINE_S)  # every head connection gone before the next figure
        held = slow_heads(server, slow)
        hits = {kind: server.metric(f'collector_edge_limit_hits_total{{limit="{kind}"}}')
                for kind in ("header_bytes", "network_connections", "request_deadline")}
        server.stop()
    servers.cleanup(server)
    cpu = edge_cpu.compare()
    growth = heads["peak_mb"] - heads["idle_mb"]
    answers = ", ".join(f"{n} x {status.decode()}" for status, n in sorted(heads["answers"].items()))
    rows = [
        Row(f"Edge: {HEAD_CONNECTIONS} connections sending 1 MB unfinished headers: RSS growth",
            f"{growth:,.0f} MB", f"idle {heads['idle_mb']:,.0f} MB, peak {heads['peak_mb']:,.0f}, 2 s after "
            f"{heads['after_mb']:,.0f}; answers {answers}; target <= 50 MB", growth <= 50),
        Row("Edge: slow connections one client holds", f"{held['held_after_1s']:,}",
            f"of {held['opened']:,} opened from one address; after the request deadline "
            f"{held['held_after_deadline']}; target: the per-network cap ({PER_NETWORK_CAP}), then 0",
            held["held_after_1s"] <= PER_NETWORK_CAP and held["held_after_deadline"] == 0),
        Row("Edge: protocol CPU per request", f"{cpu['edge']:.1f} us",
            f"uvicorn's httptools protocol {cpu['uvicorn']:.1f} us on the same requests (x{cpu['ratio']:.2f}, "
            f"{cpu['edge'] - cpu['uvicorn']:+.1f} us); medians of 7 alternating rounds, no sockets"),
    ]
    return rows, {**heads, **held, "hits": hits, "rss_growth_mb": growth, "cpu_us_per_request": cpu,
                  "answers": {k.decode(): v for k, v in heads["answers"].items()}}
