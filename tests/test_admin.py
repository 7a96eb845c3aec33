"""Operator routes: bearer token, no CORS, export/delete by stored visitor id and site purge over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FIREFOX, LONDON_IP, event

from collector.auth import is_admin
from collector.pseudonyms import visitor_id

TOKEN = "admin-token-for-tests-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}
A, B = "browser-first-party-000A", "browser-first-party-000B"


@pytest.fixture
def admin(make_api) -> Any:
    return make_api(admin_token=TOKEN)


def _seed(api: Any) -> tuple[int, int]:
    api.send([event(consent={"analytics": True}, vid=vid, url="https://test.example/same")
              for vid in (A, A, B)] + [event(type="consent", action="grant", categories=["analytics"],
                                             consent={"analytics": True}, vid=A)])
    secret = api.collector.ctx.secret
    return visitor_id(secret, "test.example", A), visitor_id(secret, "test.example", B)


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN},
                                     {"authorization": f"Basic {TOKEN}"}, {"authorization": "Bearer "}])
@pytest.mark.parametrize(("method", "path"), [("GET", "/admin/dsar/export?site=test.example&visitor=1"),
                                              ("POST", "/admin/dsar/delete?site=test.example&visitor=1"),
                                              ("POST", "/admin/purge?site=test.example")])
def test_missing_or_wrong_token_is_401_without_detail(admin, headers, method, path) -> None:
    r = admin.client.request(method, path, headers={"origin": "https://test.example", **headers})
    assert r.status_code == 401
    assert r.json() == {"error": "unauthorized", "detail": ""}
    assert "access-control-allow-origin" not in r.headers


def test_no_configured_token_means_no_admin(api) -> None:
    r = api.client.get("/admin/dsar/export?site=test.example&visitor=1", headers={"authorization": "Bearer "})
    assert r.status_code == 401
    assert not is_admin(None, "Bearer anything") and not is_admin("", "Bearer ")


def test_export_and_delete_over_http(admin) -> None:
    a, b = _seed(admin)
    r = admin.client.get(f"/admin/dsar/export?site=test.example&visitor={a}",
                         headers={**AUTH, "origin": "https://test.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    doc = r.json()
    assert len(doc["events"]) == 2 and len(doc["consent_receipts"]) == 1
    assert {e["visitor_id"] for e in doc["events"]} == {str(a)}
    assert LONDON_IP not in r.text and FIREFOX not in r.text
    r = admin.client.post(f"/admin/dsar/delete?site=test.example&visitor={a}", headers=AUTH)
    assert r.status_code == 200
    assert r.json()["deleted"] == {"events": 2, "consent_receipts": 1} and r.json()["verified"] is True
    again = admin.client.get(f"/admin/dsar/export?site=test.example&visitor={a}", headers=AUTH).json()
    assert again["events"] == again["consent_receipts"] == []
    assert admin.count(where=f"visitor_id = {b}") == 1


def test_purge_over_http(admin) -> None:
    _seed(admin)
    admin.send(event(site="country.example", url="https://country.example/"))
    r = admin.client.post("/admin/purge?site=test.example", headers=AUTH)
    assert r.status_code == 200 and r.json()["verified"] is True
    assert r.json()["deleted"]["events"] == 3 and r.json()["deleted"]["consent_receipts"] == 1
    assert admin.rows("SELECT DISTINCT site FROM analytics.events") == [("country.example",)]


@pytest.mark.parametrize("query", ["site=test.example", "site=test.example&visitor=abc", "visitor=1",
                                   "site=bad site&visitor=1", "site=test.example&visitor=0",
                                   f"site=test.example&visitor={2**64}"])
def test_bad_input_is_400_naming_the_field(admin, query) -> None:
    r = admin.client.get(f"/admin/dsar/export?{query}", headers=AUTH)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request" and r.json()["detail"].split(":")[0] in ("site", "visitor")
