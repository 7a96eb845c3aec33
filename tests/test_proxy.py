"""A worker's proxy (collector/proxy.py) on its real path: a client's request over TCP to the worker's
uvicorn, forwarded over the owner's Unix socket. The collector's internal headers (the owner token and the
client address a worker vouches for) are the worker's alone: a client that sends them is stripped of them.

The owner here is a recorder of the raw header list, standing in for the real owner because the real one
reads headers into a dict, where the worker's own copy (appended last) would win and hide a client's copy."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import Api, serve

from collector import proxy
from collector.handoff import PEER_HEADER, TOKEN_HEADER
from collector.proxy import WorkerApp

TOKEN = "worker-token"


@pytest.fixture
def recorder(tmp_path: Path) -> Any:
    seen: list[list[tuple[bytes, bytes]]] = []

    async def owner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(list(scope["headers"]))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    sock = tmp_path / "owner.sock"
    server = uvicorn.Server(uvicorn.Config(owner, uds=str(sock), log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield sock, seen
    server.should_exit = True
    thread.join(10)


def _forwarded(api: Api, sock: Path, seen: list[Any]) -> list[tuple[bytes, bytes]]:
    with serve(WorkerApp(api.client.app, sock, TOKEN)) as url:
        r = httpx.get(f"{url}/privacy/inventory", headers={TOKEN_HEADER: "a guess", PEER_HEADER: "203.0.113.9",
                                                          "x-other": "kept"})
    assert r.status_code == 200 and r.text == "ok"
    return seen[-1]


def test_a_client_cannot_set_the_collectors_internal_headers(api: Api, recorder: Any) -> None:
    headers = _forwarded(api, *recorder)
    assert [v for k, v in headers if k == TOKEN_HEADER.encode()] == [TOKEN.encode()]
    assert [v for k, v in headers if k == PEER_HEADER.encode()] == [b"127.0.0.1"]  # the TCP peer, not the claim
    assert (b"x-other", b"kept") in headers


def test_the_check_can_fail(api: Api, recorder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the internal headers no longer dropped, the client's copies reach the owner beside the worker's."""
    monkeypatch.setattr(proxy, "_DROP", proxy._DROP - {TOKEN_HEADER.encode(), PEER_HEADER.encode()})
    headers = _forwarded(api, *recorder)
    assert [v for k, v in headers if k == PEER_HEADER.encode()] == [b"203.0.113.9", b"127.0.0.1"]
