"""CLICKHOUSE_URL, ClickHouse's usual form `http(s)://user:password@host:port/database`, into the keyword
arguments of `clickhouse_connect.get_client`.

One optional query parameter is understood: `proxy_path` (clickhouse-connect's own option name), the HTTP path
of a server behind a proxy, such as another collector's `/sql` (`…/analytics?proxy_path=/sql`). Any other
parameter is a configuration error, never silently ignored. The path names the database, and the
schema's tables live in `analytics`: another name is an error rather than a database left empty. The
password is URL-decoded here and appears in no error message and no `repr`: errors name the URL with the
password replaced by `***`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_DATABASE = "analytics"
KNOWN_PARAMS = ("proxy_path",)


class ServerUrlError(ValueError):
    """CLICKHOUSE_URL is malformed; the message names what is wrong, never the password."""


@dataclass(frozen=True, slots=True)
class ServerUrl:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    database: str
    secure: bool
    proxy_path: str = ""

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for clickhouse_connect.get_client. No `database`: every statement of the collector
        names its tables in full, and the database does not exist before the first migration creates it."""
        return {"host": self.host, "port": self.port, "username": self.username, "password": self.password,
                "secure": self.secure, "interface": "https" if self.secure else "http",
                "proxy_path": self.proxy_path}

    @property
    def http_base(self) -> str:
        """scheme://host:port/proxy_path, the address ClickHouse's HTTP interface answers at (no credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.secure else 'http'}://{host}:{self.port}{self.proxy_path}"


def redact(url: str) -> str:
    """`url` with its password (if any) replaced by ***: the only form of a URL fit for a log or an error."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    netloc = f"{user}:***@{parts.netloc.rsplit('@', 1)[1]}"
    return parts._replace(netloc=netloc).geturl()


def parse(url: str) -> ServerUrl:
    """The server named by CLICKHOUSE_URL; ServerUrlError (password redacted) when it is not one."""
    shown = redact(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ServerUrlError(f"CLICKHOUSE_URL {shown!r} is not a URL with a valid port") from None
    if parts.scheme not in ("http", "https"):
        raise ServerUrlError(f"CLICKHOUSE_URL {shown!r} must start with http:// or https://")
    if not parts.hostname:
        raise ServerUrlError(f"CLICKHOUSE_URL {shown!r} names no host")
    if parts.fragment:
        raise ServerUrlError(f"CLICKHOUSE_URL {shown!r} must not have a #fragment")
    database = unquote(parts.path.strip("/")) or DEFAULT_DATABASE
    if "/" in database:
        raise ServerUrlError(f"CLICKHOUSE_URL {shown!r}: the path names one database; put an HTTP path in "
                             "?proxy_path=/path")
    if database != DEFAULT_DATABASE:
        raise ServerUrlError(f"CLICKHOUSE_URL {shown!r}: the collector's tables live in the database "
                             f"{DEFAULT_DATABASE!r} (the schema names it); end the URL with /{DEFAULT_DATABASE}")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - set(KNOWN_PARAMS))
    if unknown:
        raise ServerUrlError(f"CLICKHOUSE_URL {shown!r}: unknown parameter {unknown[0]!r} "
                             f"(known: {', '.join(KNOWN_PARAMS)})")
    if any(len(values) > 1 for values in query.values()):
        raise ServerUrlError(f"CLICKHOUSE_URL {shown!r}: a parameter is given twice")
    proxy_path = query.get("proxy_path", [""])[0].strip("/")
    secure = parts.scheme == "https"
    return ServerUrl(host=parts.hostname, port=port or (8443 if secure else 8123),
                     username=unquote(parts.username or "default"), password=unquote(parts.password or ""),
                     database=database, secure=secure, proxy_path=f"/{proxy_path}" if proxy_path else "")
