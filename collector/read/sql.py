"""`/sql`: ClickHouse's HTTP interface (the port-8123 protocol) under a path, over the embedded store.

Real clients work unchanged with their path set to `/sql` (clickhouse-connect `proxy_path`, Grafana's
ClickHouse datasource `path`, SQLAlchemy `clickhousedb://`). The query is the `query` parameter, a newline,
then the body; `param_<name>` are bound values; transport parameters (`query_id`, `session_id`...) are
accepted and never reach the engine; any other parameter is a setting, for non-admins only from an allow-list.
Non-admin statements pass the guard (guard.py) and run on the reader handles; the admin runs anything on a
handle of its own. Every engine call runs in a worker thread, at most `readers + 1` at once.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import compression, guard, native, policy
from .engine import Engine, Result, SqlEngine
from .errors import SqlError, refused_by_guard, respond
from .inserts import run_admin, split_insert
from .server import ServerEngine
from .users import User, authenticate, credentials

READERS = 2  # concurrent non-admin queries; more wait their turn (each may use half the cores)
MAX_QUERY_BYTES = 1024 * 1024  # a non-admin body: SQL text, no data
DISPLAY_NAME = "collector"  # never the host name
# Consumed by the HTTP layer (clickhouse-connect's chDB backend keeps the same list): never engine settings.
TRANSPORT = frozenset({
    "query", "user", "password", "database", "default_format", "buffer_size", "session_id", "session_timeout",
    "session_check", "query_id", "quota_key", "compress", "decompress", "wait_end_of_query",
    "client_protocol_version", "role", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "enable_http_compression", "cancel_http_readonly_queries_on_client_close", "http_zlib_compression_level",
    "add_http_cors_header", "http_response_buffer_size", "http_wait_end_of_query",
})
_HEADER_SAFE = re.compile(r"^[\x21-\x7e]{1,128}$")
_FORMAT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_CONTENT_TYPES = {"JSON": "application/json", "JSONCompact": "application/json", "JSONEachRow": "application/x-ndjson",
                  "CSV": "text/csv", "CSVWithNames": "text/csv", "TabSeparated": "text/tab-separated-values",
                  "TSV": "text/tab-separated-values"}


class Door:
    """Everything the SQL door needs, opened once on the store's engine."""

    def __init__(self, collector: Any) -> None:
        store = collector.store
        self.collector = collector
        self.engine: SqlEngine
        if store is not None and store.embedded and store.path:
            self.engine = Engine(store.path, READERS)
        elif collector.settings.clickhouse_url:
            self.engine = ServerEngine(collector.settings.clickhouse_url, READERS)
        else:
            raise SqlError(48, "/sql has no store to serve")
        self.limiter = anyio.CapacityLimiter(READERS + 1)
        self.functions = policy.load_functions(lambda sql: [line.split("\t") for line in
                                                            self.text(sql, {}).splitlines()])
        self.site_tables = frozenset(f"{policy.DATABASE}.{line}" for line in self.text(
            "SELECT DISTINCT table FROM system.columns WHERE database = {d:String} AND name = 'site'",
            {"d": policy.DATABASE}).splitlines())
        self.timezone, self.revision = self.text("SELECT timezone(), revision()", {}).strip().split("\t")

    def text(self, sql: str, params: dict[str, str]) -> str:
        return self.engine.run(sql, "TSVRaw", params, policy.DATABASE, admin=False).body.decode()

    def close(self) -> None:
        self.engine.close()


_doors_lock = threading.Lock()


def _door(request: Request) -> Door:
    state = request.app.state
    with _doors_lock:
        door: Door | None = getattr(state, "sql_door", None)
        if door is None:
            door = state.sql_door = Door(state.collector)
        return door


def close(app: Any) -> None:
    """Close the door's engine handles (the app's shutdown calls this)."""
    door = getattr(app.state, "sql_door", None)
    if door is not None:
        app.state.sql_door = None
        door.close()


async def ping(request: Request) -> Response:
    return Response(b"Ok.\n", media_type="text/plain; charset=UTF-8")


def _split(params: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(bound values without their `param_` prefix, settings)."""
    bound = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
    settings = {k: v for k, v in params.items() if not k.startswith("param_") and k not in TRANSPORT}
    return bound, settings


def _user(request: Request, params: dict[str, str]) -> User:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]}
    given = credentials(headers, params)
    if given is None:
        raise SqlError(194, "Authentication required: send a user and password (basic auth, X-ClickHouse-User "
                            "and X-ClickHouse-Key, or the user and password parameters)")
    collector = request.app.state.collector
    user = authenticate(collector.config, collector.settings.admin_token, *given)
    if user is None:  # the same answer for an unknown user and a wrong password
        raise SqlError(516, "Authentication failed: password is incorrect, or there is no user with such name")
    return user


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise SqlError(62, "Syntax error: the query is not valid UTF-8") from None


async def _body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise SqlError(393, f"Query is too large ({size} bytes); the limit is {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _run(door: Door, user: User, sql: str, data: bytes | None, bound: dict[str, str], settings: dict[str, str],
         database: str, default_format: str) -> tuple[Result, str]:
    """Run one request's statement in a worker thread; (result, the format it is written in)."""
    if user.is_admin:
        match = _TRAILING_FORMAT.search(sql) if data is None else None  # the header names the output format
        return run_admin(door.engine, sql, data, bound, settings, database, default_format), \
            match.group(1) if match else default_format
    try:
        checked = _guarded(door, user, sql, bound, settings, database, default_format)
    except SqlError as exc:
        raise refused_by_guard(exc) from None
    fmt = checked.format or default_format
    return door.engine.run(checked.sql, fmt, bound, database, admin=False), fmt


def _guarded(door: Door, user: User, sql: str, bound: dict[str, str], settings: dict[str, str], database: str,
             default_format: str) -> guard.Checked:
    """The guard's verdict on a non-admin statement; every SqlError here is a refusal before the engine ran it."""
    if database != policy.DATABASE:
        raise SqlError(497, f"Not enough privileges: only the {policy.DATABASE} database is readable")
    if default_format not in policy.FORMATS:
        raise SqlError(73, f"Unknown or disallowed format {default_format[:64]}")
    return guard.check(lambda q, p: door.engine.run(q, "TSVRaw", p, database, admin=False).body.decode(),
                       sql, bound, user, door.functions, door.site_tables, settings, default_format)


async def endpoint(request: Request) -> Response:
    params = dict(request.query_params)
    given_id = params.get("query_id", "")
    # Echoed in a header: only printable ASCII of a sane length, else one of ours.
    query_id = given_id if _HEADER_SAFE.match(given_id) else str(uuid.uuid4())
    collector = request.app.state.collector
    role = "none"
    try:
        user = _user(request, params)
        role = str(user.role)
        raw = await _body(request, compression.MAX_BODY_BYTES if user.is_admin else MAX_QUERY_BYTES)
        body = compression.decode(raw, request.headers.get("content-encoding", ""))
        text = params.get("query", "")
        data: bytes | None = None
        if text and body and user.is_admin and re.match(r"\s*INSERT\b", text, re.IGNORECASE):
            data = body  # the statement is in the parameter, the rows in the body
        elif not text and user.is_admin and (insert := split_insert(body)) is not None:
            text, data = insert  # the statement, a line break, then the rows
        elif body:
            text = f"{text}\n{_utf8(body)}" if text else _utf8(body)
        if not text.strip():
            return Response(b"Ok.\n", media_type="text/plain; charset=UTF-8")
        door = await anyio.to_thread.run_sync(_door, request)
        database = params.get("database") or request.headers.get("x-clickhouse-database") or policy.DATABASE
        fmt = params.get("default_format") or request.headers.get("x-clickhouse-format") or "TabSeparated"
        if not _FORMAT_NAME.match(fmt):
            raise SqlError(73, "Unknown format: a format is a name such as JSONEachRow")
        bound, settings = _split(params)
        result, fmt = await anyio.to_thread.run_sync(_run, door, user, text, data, bound, settings, database, fmt,
                                                     limiter=door.limiter)
    except SqlError as exc:
        collector.metrics.inc("collector_sql_queries_total", role=role, outcome=exc.name.lower())
        status, headers, error_body = respond(exc)
        return Response(error_body, status_code=status, headers={**headers, "X-ClickHouse-Query-Id": query_id})
    collector.metrics.inc("collector_sql_queries_total", role=role, outcome="ok")
    return _answer(request, door, result, fmt, params, query_id)


def _answer(request: Request, door: Door, result: Result, fmt: str, params: dict[str, str],
            query_id: str) -> Response:
    body = result.body
    revision = params.get("client_protocol_version", "0")
    if fmt == "Native" and revision.isdigit() and int(revision) > 0:
        try:
            body = native.at_revision(body, int(revision))
        except SqlError as exc:
            status, headers, error_body = respond(exc)
            return Response(error_body, status_code=status, headers=headers)
    headers = {"X-ClickHouse-Summary": orjson.dumps(result.summary()).decode(), "X-ClickHouse-Query-Id": query_id,
               "X-ClickHouse-Format": fmt, "X-ClickHouse-Timezone": door.timezone,
               "X-ClickHouse-Server-Display-Name": DISPLAY_NAME}
    if params.get("enable_http_compression") == "1":
        encoding = compression.choose(request.headers.get("accept-encoding", ""))
        if encoding and body:
            body = compression.encode(body, encoding)
            headers["Content-Encoding"] = encoding
    media = _CONTENT_TYPES.get(fmt, "application/octet-stream" if fmt in ("Native", "RowBinary", "Parquet")
                               or fmt.startswith(("RowBinary", "Arrow")) else "text/plain")
    return Response(body, headers=headers, media_type=f"{media}; charset=UTF-8" if media.startswith("text") or
                    "json" in media else media)


def routes() -> list[Route]:
    return [Route("/sql/ping", ping, methods=["GET", "HEAD"]), Route("/sql", endpoint, methods=["GET", "POST"])]
