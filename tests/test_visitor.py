"""Self-service rights: the browser proves the request with its own first-party id (acceptance c)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import MINNEAPOLIS_IP, event

from collector import visitor
from collector.pseudonyms import visitor_id

VID, OTHER = "browser-first-party-0001", "browser-first-party-0002"
PAGE = {"origin": "https://test.example"}


def ask(api: Any, action: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.client.post(f"/api/visitor/{action}", json=body, headers={**PAGE, **(headers or {})})


def seed(api: Any) -> None:
    api.send([event(consent={"analytics": True}, vid=vid, url="https://test.example/same") for vid in (VID, VID, OTHER)]
             + [event(type="consent", action="grant", categories=["analytics"], consent={"analytics": True}, vid=VID)],
             headers=PAGE)


def test_export_then_delete_with_the_browsers_own_id(api) -> None:
    seed(api)
    r = ask(api, "export", {"site": "test.example", "vid": VID})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://test.example"
    assert len(r.json()["events"]) == 2 and len(r.json()["consent_receipts"]) == 1
    assert VID not in r.text
    r = ask(api, "delete", {"site": "test.example", "vid": VID})
    assert r.status_code == 200
    assert r.json()["deleted"] == {"events": 2, "consent_receipts": 1} and r.json()["verified"] is True
    assert ask(api, "export", {"site": "test.example", "vid": VID}).status_code == 404
    assert api.count() == 1  # the other visitor's row


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"site": "test.example"}, 400, "invalid_vid"),
    ({"site": "test.example", "vid": ""}, 400, "invalid_vid"),
    ({"site": "test.example", "vid": "short"}, 400, "invalid_vid"),
    ({"site": "test.example", "vid": 12345678901234567890}, 400, "invalid_vid"),
    ({"site": "test.example", "vid": "someone-elses-id-guess"}, 404, "not_found"),
    ({"vid": VID}, 400, "unknown_site"),
    ({"site": "nope.example", "vid": VID}, 400, "unknown_site"),
    (["not", "an", "object"], 400, "invalid_request"),
])
def test_wrong_or_missing_id_is_refused(api, body, status, error) -> None:
    seed(api)
    r = ask(api, "export", body)
    assert (r.status_code, r.json()["error"]) == (status, error)
    assert ask(api, "delete", body).status_code == status
    # nothing was deleted: every event and the receipt are still there, each visitor's own
    assert api.count() == 3 and api.count("consent_receipts") == 1
    assert sorted(api.rows("SELECT visitor_id, count() FROM analytics.events GROUP BY visitor_id")) == sorted(
        [(visitor_id(api.collector.ctx.secret, "test.example", VID), 2),
         (visitor_id(api.collector.ctx.secret, "test.example", OTHER), 1)])


def test_an_origin_of_another_site_is_403(api) -> None:
    seed(api)
    r = ask(api, "export", {"site": "test.example", "vid": VID}, {"origin": "https://country.example"})
    assert r.status_code == 403


def test_rate_limit_is_429_with_retry_after_per_site_and_network(make_api, clock) -> None:
    api = make_api()
    body = {"site": "test.example", "vid": VID}
    for _ in range(visitor.BURST):
        assert ask(api, "export", body).status_code == 404
    r = ask(api, "export", body)
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= visitor.REFILL_S
    assert ask(api, "delete", body).status_code == 429  # one budget for both actions
    assert ask(api, "export", {"site": "country.example", "vid": VID},
               {"origin": "https://country.example"}).status_code == 404  # another site has its own budget
    elsewhere = make_api(peer=MINNEAPOLIS_IP)
    assert ask(elsewhere, "export", body).status_code == 404  # another network has its own budget
    clock.advance(int(r.headers["retry-after"]))
    assert ask(api, "export", body).status_code == 404


def test_network_buckets() -> None:
    assert visitor.network("81.2.69.142") == visitor.network("81.2.69.7") == "81.2.69.0/24"
    assert visitor.network("2001:db8:1:2::1") == "2001:db8:1::/56"
    assert visitor.network("not-an-ip") == "?"


def test_preflight_allows_the_sites_pages_only(api) -> None:
    ok = api.client.options("/api/visitor/export", headers=PAGE)
    assert ok.status_code == 204 and ok.headers["access-control-allow-methods"] == "POST"
    other = api.client.options("/api/visitor/export", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_oversized_or_non_json_body_is_refused(api) -> None:
    big = api.client.post("/api/visitor/export", content=b"{" + b" " * 2000 + b"}",
                          headers={"content-type": "application/json"})
    assert big.status_code == 413
    assert api.client.post("/api/visitor/export", content=b"{", headers={"content-type": "application/json"}
                           ).status_code == 400
    assert api.client.post("/api/visitor/export", content=b"{}", headers={"content-type": "application/xml"}
                           ).status_code == 415
