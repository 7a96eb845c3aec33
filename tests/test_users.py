"""Readers of the store: users from the sites config, the built-in admin, and credentials from requests."""

from __future__ import annotations

import base64
import hashlib

import pytest

from collector import config
from collector.read.users import Role, authenticate, credentials

CONFIG = config.parse({
    "sites": {"a.example": {}, "b.example": {}},
    "users": {"reader": {"role": "read", "password_sha256_hex": hashlib.sha256(b"s3cret").hexdigest(),
                         "sites": ["a.example"]},
              "analyst": {"role": "analyst", "password_sha256_hex": hashlib.sha256(b"other").hexdigest()}},
})


def test_a_configured_user_logs_in_with_its_password_and_role() -> None:
    user = authenticate(CONFIG, "token", "reader", "s3cret")
    assert user is not None and user.role is Role.READ
    assert user.may_read("a.example") and not user.may_read("b.example")
    analyst = authenticate(CONFIG, "token", "analyst", "other")
    assert analyst is not None and analyst.role is Role.ANALYST and analyst.may_read("b.example")


@pytest.mark.parametrize(("name", "password"), [
    ("reader", "wrong"), ("reader", ""), ("nobody", "s3cret"), ("analyst", "s3cret"), ("admin", "s3cret"),
])
def test_a_wrong_password_and_an_unknown_user_are_refused_alike(name: str, password: str) -> None:
    assert authenticate(CONFIG, "token", name, password) is None


def test_admin_is_built_in_with_the_admin_token_and_closed_without_one() -> None:
    admin = authenticate(CONFIG, "token", "admin", "token")
    assert admin is not None and admin.is_admin
    assert authenticate(CONFIG, None, "admin", "") is None
    assert authenticate(CONFIG, "", "admin", "") is None


def test_credentials_come_from_clickhouse_headers_basic_auth_parameters_or_a_bearer_token() -> None:
    basic = "Basic " + base64.b64encode(b"reader:s3cret").decode()
    assert credentials({"x-clickhouse-user": "reader", "x-clickhouse-key": "k"}, {}) == ("reader", "k")
    assert credentials({"authorization": basic}, {}) == ("reader", "s3cret")
    assert credentials({}, {"user": "reader", "password": "p"}) == ("reader", "p")
    assert credentials({"authorization": "Bearer tok"}, {}) == ("admin", "tok")
    assert credentials({"authorization": "Basic %%%"}, {}) == ("", "")
    assert credentials({}, {}) is None


@pytest.mark.parametrize(("users", "key"), [
    ({"admin": {"role": "admin", "password_sha256_hex": "0" * 64}}, "users.admin"),
    ({"x": {"role": "root", "password_sha256_hex": "0" * 64}}, "role"),
    ({"x": {"role": "read", "password_sha256_hex": "secret"}}, "password_sha256_hex"),
    ({"x": {"role": "read", "password_sha256_hex": "0" * 64, "sites": ["nope.example"]}}, "sites"),
    ({"x": {"role": "read", "password": "plain"}}, "password"),
])
def test_bad_user_entries_fail_loudly_naming_the_key(users: dict[str, object], key: str) -> None:
    with pytest.raises(config.ConfigError, match=key.replace(".", r"\.")):
        config.parse({"sites": {"a.example": {}}, "users": users})
