"""`collector sql` through a running collector's `/sql`: when a server holds the embedded store, the CLI asks
it over HTTP with the admin credential (COLLECTOR_ADMIN_TOKEN) instead of opening the store itself."""

from __future__ import annotations

import base64
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000"


class RemoteError(RuntimeError):
    """The server answered with an error (its ClickHouse-style message) or could not be reached."""


def query(url: str, token: str, sql: str, default_format: str, timeout_s: float = 300.0) -> bytes:
    """The body of `sql` run by the collector at `url` as the admin, in `default_format` unless the query
    names its own FORMAT."""
    params = urllib.parse.urlencode({"default_format": default_format, "database": "analytics"})
    credential = base64.b64encode(f"admin:{token}".encode()).decode()
    request = urllib.request.Request(f"{url.rstrip('/')}/sql?{params}", data=sql.encode(), method="POST",
                                     headers={"Authorization": f"Basic {credential}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - the operator's URL
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise RemoteError(exc.read().decode("utf-8", "replace").strip().splitlines()[0][:500]) from None
    except (urllib.error.URLError, OSError) as exc:
        raise RemoteError(f"cannot reach the collector at {url}: {exc}") from None
