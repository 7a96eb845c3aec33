"""Users and helpers shared by the SQL door's tests: a sites config with one user per role, an app on the
session store, and a real uvicorn server for real clients."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import TEST_CONFIG, Api

ADMIN_TOKEN = "admin-secret-token"
PASSWORDS = {"reader": "read-pass", "analyst": "analyst-pass", "siteonly": "site-pass"}


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


USERS_CONFIG = TEST_CONFIG + f"""
[users.reader]
role = "read"
password_sha256_hex = "{_digest(PASSWORDS["reader"])}"

[users.analyst]
role = "analyst"
password_sha256_hex = "{_digest(PASSWORDS["analyst"])}"

[users.siteonly]
role = "analyst"
password_sha256_hex = "{_digest(PASSWORDS["siteonly"])}"
sites = ["test.example"]
"""


def password(user: str) -> str:
    return ADMIN_TOKEN if user == "admin" else PASSWORDS[user]


@pytest.fixture
def sql_api(make_api: Callable[..., Api], settings: Any) -> Api:
    settings.config_path.write_text(USERS_CONFIG)
    return make_api(admin_token=ADMIN_TOKEN)


def sql(api: Api, user: str, query: str, **params: str) -> httpx.Response:
    """POST a query to /sql as `user` (basic auth)."""
    response: httpx.Response = api.client.post("/sql", content=query.encode(), params=params,
                                               auth=(user, password(user)))
    return response


def ok_text(api: Api, user: str, query: str, **params: str) -> str:
    response = sql(api, user, query, **params)
    assert response.status_code == 200, response.text
    return response.text


Fixture = Iterator[Any]
