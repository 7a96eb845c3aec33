"""The admin bearer token: one constant-time check shared by every admin route and the ingest edge.

A missing, malformed or wrong credential, and a collector with no token configured, all get the same
401 with no detail, so a caller learns nothing about why.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from .errors import ClientError, Kind


def bearer(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def is_admin(expected: str | None, header: str) -> bool:
    """True only for the configured token; compared in constant time over bytes."""
    token = bearer(header)
    if not expected or token is None:
        return False
    return hmac.compare_digest(token.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def check_admin(request: Request, token: str | None) -> None:
    """Raise a detail-free 401 unless the request carries the admin token `token`."""
    if not is_admin(token, request.headers.get("authorization", "")):
        raise ClientError(Kind.UNAUTHORIZED, "unauthorized", "")


def require_admin(request: Request) -> None:
    """`check_admin` against the token of the collector serving this request."""
    check_admin(request, request.app.state.collector.settings.admin_token)


def carries_admin_token(request: Request, token: str | None) -> bool:
    """The admin credential turned up on a public route (the ingest path never accepts it)."""
    return is_admin(token, request.headers.get("authorization", ""))
