"""One HTTP/1.1 request with the request target sent byte for byte as written, over a plain socket.

HTTP clients normalise paths before sending (httpx turns `/api/event/../admin/purge` into
`/api/admin/purge`), so a path-traversal test through them never reaches the server with the `..`.
h11 frames the request and parses the answer; it does not touch the target."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(base_url: str, method: str, target: str, headers: dict[str, str] | None = None,
                body: bytes = b"") -> Answer:
    url = urlsplit(base_url)
    conn = h11.Connection(h11.CLIENT)
    fields = [("host", url.netloc), ("connection", "close"), ("content-length", str(len(body))),
              *(headers or {}).items()]
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(conn.send(h11.Request(method=method, target=target.encode(), headers=fields)) or b"")
        sock.sendall((conn.send(h11.Data(data=body)) if body else b"") + (conn.send(h11.EndOfMessage()) or b""))
        status, answer_headers, chunks = 0, {}, []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                answer_headers = {k.decode().lower(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return Answer(status, answer_headers, b"".join(chunks))
