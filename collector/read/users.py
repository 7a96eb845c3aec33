"""Who is reading: credentials from a request, checked against the users of the sites config.

Users are ClickHouse users.xml-style (`[users.NAME]`, `role`, `password_sha256_hex`); the built-in user
`admin` has the password COLLECTOR_ADMIN_TOKEN. Every read door (the `/sql` interface, the stats API, the
dashboard login) authenticates through `authenticate`, which does the same work for an unknown user as for a
wrong password and compares digests in constant time, so neither timing nor the answer tells whether a user
exists.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from ..config import ADMIN_USER, Config

# Compared against when the user is unknown, so an unknown name costs the same as a wrong password.
_NO_USER_DIGEST = hashlib.sha256(b"no such user: the comparison still runs").digest()


class Role(enum.StrEnum):
    """Least privilege first: each role can do everything the one before it can."""

    READ = "read"        # suppressed aggregates (the dashboard views) only
    ANALYST = "analyst"  # also the rollups and the raw, pseudonymous events
    ADMIN = "admin"      # everything: inserts, DDL, unsuppressed data


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    sites: tuple[str, ...] = ()  # site ids this user may read; empty: all

    def may_read(self, site: str) -> bool:
        return not self.sites or site in self.sites

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def authenticate(config: Config, admin_token: str | None, name: str, password: str) -> User | None:
    """The user `name` if `password` is theirs, else None (unknown user and wrong password alike)."""
    given = hashlib.sha256(password.encode("utf-8", "surrogateescape")).digest()
    spec = config.users.get(name)
    if name == ADMIN_USER:
        # No token configured: the admin account is closed, but the comparison still runs.
        expected = hashlib.sha256(admin_token.encode()).digest() if admin_token else _NO_USER_DIGEST
    elif spec is not None:
        expected = bytes.fromhex(spec.password_sha256_hex)
    else:
        expected = _NO_USER_DIGEST
    ok = hmac.compare_digest(given, expected) and (name != ADMIN_USER or bool(admin_token))
    if not ok or (spec is None and name != ADMIN_USER):
        return None
    if name == ADMIN_USER:
        return User(ADMIN_USER, Role.ADMIN)
    assert spec is not None
    return User(spec.name, Role(spec.role), spec.sites)


def credentials(headers: Mapping[str, str], params: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) from a request, in ClickHouse's order of precedence: `X-ClickHouse-User`/`-Key`,
    HTTP basic auth, the `user`/`password` parameters; a bearer token is the admin's password.
    None when the request carries no credential at all. `headers` keys are lower case."""
    if "x-clickhouse-user" in headers:
        return headers["x-clickhouse-user"], headers.get("x-clickhouse-key", "")
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""  # a malformed credential is a wrong one, never a 500
        return (user, password) if sep else ("", "")
    if scheme.lower() == "bearer" and value.strip():
        return ADMIN_USER, value.strip()
    if "user" in params:
        return params["user"], params.get("password", "")
    return None
