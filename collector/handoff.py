"""How an embedded worker's rows reach the store owner, and the owner's side of it.

A worker has no store: its Writer inserts through an OwnerLink, which sends each sealed segment's
block for each table to the owner over the owner's Unix socket, with the segment's deduplication
token. The owner inserts the block with that token and answers 200 only once the store has it; the
worker removes the segment from its spool only then. A worker or owner killed at any point is
therefore harmless: the worker's spool still holds the segment (fsync'd before the 202), it is sent
again after the restart with the same token, and the store drops the repeat. A block the store does
not take is answered 422 with ClickHouse's error code when the block itself is bad (the worker sets
the segment aside after a few), else 503 (busy or down: the worker keeps it and retries). Withdrawals go the same
way: the worker hands over its rows, then asks the owner to erase, and the owner's consent worker
erases after its own writer has stored everything queued.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from clickhouse_connect.driver.exceptions import ClickHouseError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from . import crashpoints, receipts, refusals
from .errors import ClientError, Kind
from .metrics import Metrics
from .spool import Spool
from .state import Collector
from .store import Store
from .writer import TABLES, Writer

log = logging.getLogger("collector.handoff")
TOKEN_HEADER = "x-collector-internal"
PEER_HEADER = "x-collector-peer"
CODE_HEADER = "x-clickhouse-exception-code"  # as ClickHouse's own HTTP interface names the error
PREFIX = "/_internal/"
FLUSH = PREFIX + "flush"  # on a worker's own socket: hand over everything spooled so far
TIMEOUT_S = 120.0  # an insert of a full segment on a busy engine; the worker retries past it


class HandoffError(RuntimeError):
    """The owner did not store a block (down, restarting, or it refused it)."""


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("owner", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class OwnerLink:
    """A worker's stand-in for the Store: the Writer's inserts and reads go to the owner."""

    embedded = True
    # Other workers write too: this process's dedup window does not hold every stored key.
    sole_writer = False

    def __init__(self, path: Path, token: str) -> None:
        self.path = path
        self.token = token

    def _call(self, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        status, answer, _ = self._request(method, target, body)
        return status, answer

    def _request(self, method: str, target: str, body: bytes) -> tuple[int, bytes, int | None]:
        """(status, body, the ClickHouse error code the owner named, if any)."""
        conn = UnixConnection(self.path, TIMEOUT_S)
        try:
            conn.request(method, target, body=body, headers={TOKEN_HEADER: self.token})
            response = conn.getresponse()
            code = response.getheader(CODE_HEADER) or ""
            return response.status, response.read(), int(code) if code.isdigit() else None
        except OSError as exc:
            raise HandoffError(f"the store owner is unreachable: {type(exc).__name__}") from None
        finally:
            conn.close()

    def insert_rows(self, table: str, columns: Any, block: bytes, token: str) -> None:
        status, body, code = self._request("POST", f"{PREFIX}block?table={quote(table)}&token={quote(token)}",
                                           block)
        if status == 422 and code is not None:
            raise refusals.BlockRefused(code)
        if status != 200:
            raise HandoffError(f"the store owner answered {status}: {body[:200]!r}")

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """A read on the owner's store (the dedup window; store-backed state a worker loads,
        such as withdrawn ids); values come back as JSON types (dates as ISO strings)."""
        body = orjson.dumps({"sql": sql, "parameters": parameters or {}}, default=str)
        status, answer = self._call("POST", f"{PREFIX}query", body)
        if status != 200:
            raise HandoffError(f"the store owner answered {status}: {answer[:200]!r}")
        return [tuple(row) for row in orjson.loads(answer)]

    def erase(self, job: receipts.Erasure) -> dict[str, Any]:
        """Queue a withdrawal's erasure with the owner (after this worker's rows were handed over)."""
        body = orjson.dumps({"site": job.site, "visitor_id": job.visitor_id, "keep_receipt": job.keep_receipt})
        status, answer = self._call("POST", f"{PREFIX}erase", body)
        if status != 202:
            raise HandoffError(f"the store owner answered {status}")
        return {"deleted": "queued with the store owner"}

    def close(self) -> None:
        pass


def flush_workers(run_dir: Path, workers: int, token: str) -> None:
    """The owner's flush barrier: every worker hands over what its spool holds before the owner's own
    flush (rights requests, erasures), so an answer or a deletion covers everything any worker received.
    A worker that cannot be reached (restarting) makes the caller answer 503: retry shortly."""
    for index in range(workers):
        link = OwnerLink(run_dir / f"worker-{index}.sock", token)
        try:
            status, _ = link._call("POST", FLUSH)
        except HandoffError:
            status = 0
        if status != 200:
            raise ClientError(Kind.UNAVAILABLE, "restarting", "a collector process is restarting; retry", 1)


def consent_worker(link: OwnerLink, writer: Writer, collector: Collector) -> receipts.Worker:
    ctx = collector.ctx
    return receipts.Worker(link.erase, writer, ctx.signals, ctx.salts.rotate)


def internal_routes(collector: Collector) -> Router:
    """The owner's routes for its workers (reached only on its socket, and only with the token)."""

    async def block(request: Request) -> Response:
        table, token = request.query_params.get("table", ""), request.query_params.get("token", "")
        if table not in TABLES or not token:
            return Response(b"unknown table", status_code=400)
        data = await request.body()
        assert collector.store is not None
        try:
            await asyncio.to_thread(store_block, collector.store, table, data, token)
        except Exception as exc:  # tell the worker whose fault it is: its spool keeps or sets the block aside
            return refusal(table, exc)
        crashpoints.reached("owner-inserted")
        return Response(b"stored")

    async def query(request: Request) -> Response:
        asked = orjson.loads(await request.body())
        assert collector.store is not None
        if not collector.ready:
            return Response(b"starting", status_code=503)
        try:
            rows = await asyncio.to_thread(collector.store.query, str(asked["sql"]), asked.get("parameters") or None)
        except ClickHouseError as exc:
            return Response(str(exc).splitlines()[0][:500].encode(), status_code=400)
        return Response(orjson.dumps(rows, default=str), media_type="application/json")

    async def erase(request: Request) -> Response:
        job = orjson.loads(await request.body())
        assert collector.consent_worker is not None
        collector.consent_worker.erase([receipts.Erasure(str(job["site"]), int(job["visitor_id"]),
                                                         str(job["keep_receipt"]))])
        return Response(b"queued", status_code=202)

    async def ping(request: Request) -> Response:
        return Response(b"ok" if collector.ready else b"starting", status_code=200 if collector.ready else 503)

    return Router(routes=[Route(PREFIX + "block", block, methods=["POST"]),
                          Route(PREFIX + "erase", erase, methods=["POST"]), Route(PREFIX + "ping", ping),
                          Route(PREFIX + "query", query, methods=["POST"])])


def refusal(table: str, exc: Exception) -> Response:
    """The owner's answer to a block the store did not take: 422 with the ClickHouse code when the block
    itself is bad (the worker quarantines it after a few), 503 with Retry-After for everything else (the
    store busy or down: the worker keeps the segment and retries)."""
    error = refusals.label(exc)
    code = refusals.block_code(exc)
    log.warning("handed-off block not stored", extra={"table": table, "error": error})
    if code is not None:
        return Response(error.encode(), status_code=422, headers={CODE_HEADER: str(code)})
    return Response(error.encode(), status_code=503, headers={"retry-after": "1"})


def store_block(store: Store, table: str, block: bytes, token: str) -> None:
    """Insert one handed-off block with the worker's deduplication token: the one place where a worker's
    rows enter the store (a store-side filter for every process belongs here and in Writer._insert)."""
    store.insert_rows(table, TABLES[table], block, token)


class OwnerApp:
    """The owner's ASGI app: internal routes for requests bearing the token, the collector for the rest;
    the client address a worker saw is restored from its header (the socket has no peer address)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.state = app.state
        self.token = token.encode()
        self.internal = internal_routes(app.state.collector)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        trusted = headers.get(TOKEN_HEADER.encode()) == self.token
        if scope["path"].startswith(PREFIX):
            if trusted:
                await self.internal(scope, receive, send)
            else:
                await Response(b"not found", status_code=404)(scope, receive, send)
            return
        peer = headers.get(PEER_HEADER.encode())
        if trusted and peer:
            scope = {**scope, "client": (peer.decode("latin-1"), 0)}
        await self.app(scope, receive, send)


def drain_orphans(directories: list[Path], store: Store, metrics: Metrics, collector: Collector) -> None:
    """Insert the segments of spools no process appends to any more, then remove the emptied spools."""
    for directory in directories:
        spool = Spool(directory, max_bytes=collector.settings.spool_max_bytes, max_rows=2**62, seal_rows=2**62,
                      seal_interval_s=3600)
        segments, rows = spool.recovered
        writer = Writer(store, metrics, spool, drop_retention=lambda site: 0)  # replays only: nothing to encode
        writer.start()
        writer.close(timeout_s=60)
        log.info("orphan spool drained", extra={"spool": directory.name, "segments": segments, "rows": rows,
                                                "left": spool.rows})
        if not spool.rows and directory.name.startswith("worker-"):
            for leftover in directory.iterdir():
                if leftover.is_dir() and not any(leftover.iterdir()):
                    leftover.rmdir()
            if not any(directory.iterdir()):
                directory.rmdir()
