"""The SQL door's engine in server mode: the ClickHouse server named by CLICKHOUSE_URL, over its own HTTP
interface. The guard and the role settings are the same as in embedded mode; the statement, bound values and
settings travel as ClickHouse's HTTP parameters, and the server's bytes (revision-0 Native: no
client_protocol_version is sent) come back for the door to frame."""

from __future__ import annotations

import base64
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

import orjson

from ..server_url import parse as parse_server_url
from .engine import Result
from .errors import SqlError, from_engine

TIMEOUT_S = 600.0  # the role limits stop a non-admin query long before; an admin's may run long


class ServerEngine:
    """Statements on a ClickHouse server as the collector's own user, at most `readers + 1` at once."""

    def __init__(self, url: str, readers: int, path: str | None = None) -> None:
        """`url` as CLICKHOUSE_URL (its path names the database; its `proxy_path` the HTTP path, unless `path`)."""
        server = parse_server_url(url)
        base = server.http_base if path is None else server.http_base.removesuffix(server.proxy_path) + path
        self.base = base if urllib.parse.urlsplit(base).path else base + "/"  # a server's own root: "/"
        user, secret = server.username, server.password
        self.auth = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
        self.readers = readers

    def run(self, sql: str, fmt: str, params: Mapping[str, str], database: str, admin: bool,
            settings: Mapping[str, str] | None = None) -> Result:
        query = {"database": database, "default_format": fmt, **{f"param_{k}": v for k, v in params.items()},
                 **(settings or {})}
        return self._post(query, sql.encode())

    def insert(self, sql: str, data: bytes, database: str, settings: Mapping[str, str] | None = None) -> Result:
        return self._post({"database": database, "query": sql, **(settings or {})}, data)

    def _post(self, query: Mapping[str, str], body: bytes) -> Result:
        request = urllib.request.Request(self.base + "?" + urllib.parse.urlencode(query), data=body, method="POST",
                                         headers={"Authorization": self.auth})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - configured URL
                data = response.read()
                summary = orjson.loads(response.headers.get("X-ClickHouse-Summary") or "{}")
        except urllib.error.HTTPError as exc:
            raise from_engine(exc.read().decode("utf-8", "replace")) from None
        except (urllib.error.URLError, OSError) as exc:
            raise SqlError(210, f"Cannot reach the ClickHouse server: {type(exc).__name__}") from None
        number = {k: int(v) for k, v in summary.items() if str(v).isdigit()}
        return Result(bytes(data), number.get("read_rows", 0), number.get("read_bytes", 0),
                      number.get("written_rows", 0), number.get("written_bytes", 0), number.get("elapsed_ns", 0))

    def close(self) -> None:
        """Nothing held: every statement is its own request."""
