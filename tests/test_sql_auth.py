"""Acceptance (c): wrong or missing credentials get ClickHouse-style 401/403 answers that do not say whether
the user exists; the check is one function that does the same work for an unknown user as for a wrong
password (counted here: one digest and one constant-time comparison each; no timing test)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from conftest import Api
from sql_fixtures import ADMIN_TOKEN, password, sql_api  # noqa: F401

from collector.read import users


def test_missing_credentials_are_a_401_asking_for_a_password(sql_api: Api) -> None:  # noqa: F811
    response = sql_api.client.post("/sql", content=b"SELECT 1")
    assert response.status_code == 401
    assert response.headers["x-clickhouse-exception-code"] == "194"
    assert response.text.startswith("Code: 194. DB::Exception: Authentication required")
    assert response.text.rstrip().endswith("(REQUIRED_PASSWORD)")


@pytest.mark.parametrize("user, secret", [("reader", "wrong"), ("nobody", "wrong"), ("nobody", "read-pass"),
                                          ("admin", "wrong"), ("", "")])
def test_wrong_credentials_are_one_403_whoever_the_user(sql_api: Api, user: str, secret: str) -> None:  # noqa: F811
    answers = set()
    for auth in ({"auth": (user, secret)}, {"headers": {"X-ClickHouse-User": user, "X-ClickHouse-Key": secret}},
                 {"params": {"user": user, "password": secret}}):
        response = sql_api.client.post("/sql", content=b"SELECT 1", **auth)  # type: ignore[arg-type]
        assert response.status_code == 403
        assert response.headers["x-clickhouse-exception-code"] == "516"
        answers.add(response.text)
    assert answers == {"Code: 516. DB::Exception: Authentication failed: password is incorrect, or there is no "
                       "user with such name. (AUTHENTICATION_FAILED)\n"}
    assert user not in answers.pop() or not user


def test_malformed_basic_auth_is_a_403_not_a_500(sql_api: Api) -> None:  # noqa: F811
    for value in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic " +
                  base64.b64encode(b"\xff\xfe:x").decode()):
        response = sql_api.client.post("/sql", content=b"SELECT 1", headers={"Authorization": value})
        assert response.status_code == 403, value


def test_every_credential_form_logs_in(sql_api: Api) -> None:  # noqa: F811
    forms: list[dict[str, Any]] = [
        {"auth": ("reader", password("reader"))},
        {"headers": {"X-ClickHouse-User": "reader", "X-ClickHouse-Key": password("reader")}},
        {"params": {"user": "reader", "password": password("reader")}},
        {"headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"}},
    ]
    for form in forms:
        response = sql_api.client.post("/sql", content=b"SELECT 1", **form)
        assert (response.status_code, response.text) == (200, "1\n"), form


def test_admin_is_closed_without_a_token(make_api: Any, settings: Any) -> None:
    from sql_fixtures import USERS_CONFIG

    settings.config_path.write_text(USERS_CONFIG)
    api = make_api(admin_token=None)
    response = api.client.post("/sql", content=b"SELECT 1", auth=("admin", ""))
    assert response.status_code == 403


def test_unknown_user_costs_the_same_work_as_a_wrong_password(sql_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    calls: list[str] = []
    real_digest, real_compare = hashlib.sha256, hmac.compare_digest

    def digest(data: bytes = b"") -> Any:
        calls.append("sha256")
        return real_digest(data)

    def compare(a: Any, b: Any) -> bool:
        calls.append(f"compare {len(a)} {len(b)}")
        return real_compare(a, b)

    config = sql_api.collector.config
    monkeypatch.setattr(users.hashlib, "sha256", digest)
    monkeypatch.setattr(users.hmac, "compare_digest", compare)
    work = []
    for name in ("reader", "nobody"):
        calls.clear()
        assert users.authenticate(config, ADMIN_TOKEN, name, "wrong") is None
        work.append(list(calls))
    assert work[0] == work[1] == ["sha256", "compare 32 32"]
