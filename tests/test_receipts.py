"""Consent receipts: choices and honoured signals become rows of analytics.consent_receipts; a withdrawal
erases the visitor's raw data and keeps only the withdrawal itself (acceptance a)."""

from __future__ import annotations

from typing import Any

from conftest import FIREFOX, LONDON_IP, event

from collector.pseudonyms import visitor_id

VID, OTHER = "browser-first-party-0001", "browser-first-party-0002"
PAGE = {"origin": "https://test.example"}
RECEIPT = "SELECT action, categories, policy_version, source, tier, requests FROM analytics.consent_receipts"


def consented(vid: str = VID, **fields: Any) -> dict[str, Any]:
    return event(consent={"analytics": True}, vid=vid, sid="session-0001", **fields)


def choice(action: str, vid: str | None = VID, site: str = "test.example", **fields: Any) -> dict[str, Any]:
    extra = {"vid": vid} if vid else {}
    return event(site=site, url=f"https://{site}/privacy?email=someone@example.org", type="consent",
                 action=action, categories=["analytics"], consent={"analytics": action == "grant"}, **extra, **fields)


def vid_hash(api: Any, vid: str = VID, site: str = "test.example") -> int:
    return visitor_id(api.collector.ctx.secret, site, vid)


def test_grant_becomes_a_receipt_and_not_a_raw_event(api) -> None:
    assert api.send(choice("grant", policy_version="2026-11"), headers=PAGE).json()["accepted"] == 1
    assert api.count() == 0
    assert api.rows(RECEIPT) == [("grant", ["analytics"], "2026-11", "banner", "full", 1)]
    assert api.rows("SELECT site, visitor_id, retention_days FROM analytics.consent_receipts") == [
        ("test.example", vid_hash(api), 3 * 366)]


def test_receipt_holds_no_ip_user_agent_url_or_raw_id(api) -> None:
    api.send(choice("grant"), headers=PAGE)
    stored = str(api.rows("SELECT * FROM analytics.consent_receipts"))
    for secret in (LONDON_IP, FIREFOX, "Firefox", "someone@example.org", "/privacy", VID):
        assert secret not in stored
    columns = {r[0] for r in api.rows("SELECT name FROM system.columns WHERE table = 'consent_receipts'")}
    assert not columns & {"ip", "user_agent", "ua", "url", "query", "path", "referrer"}


def test_policy_version_defaults_to_the_site_setting_and_a_server_call_is_source_api(api) -> None:
    api.send(choice("grant"))  # no Origin/Referer: a server-side call
    assert api.rows(RECEIPT) == [("grant", ["analytics"], "v1", "api", "full", 1)]


def test_refusal_without_an_id_is_recorded_without_one(api) -> None:
    api.send(choice("withdraw", vid=None), headers=PAGE)
    assert api.rows("SELECT visitor_id, action, tier FROM analytics.consent_receipts") == [(0, "withdraw", "anonymous")]
    assert api.collector.consent_worker.wait_idle()


def test_withdrawal_erases_raw_events_keeps_itself_and_later_events_fall_back(api) -> None:
    api.send([consented(url="https://test.example/a"), consented(url="https://test.example/b"), choice("grant")],
             headers=PAGE)
    api.send([consented(OTHER, url="https://test.example/a"), choice("grant", vid=OTHER)], headers=PAGE)
    me, other = vid_hash(api), vid_hash(api, OTHER)
    assert api.count(where=f"visitor_id = {me}") == 2
    views_before = api.rows("SELECT sum(views) FROM analytics.pages_daily")

    api.send(choice("withdraw"), headers=PAGE)
    assert api.collector.consent_worker.wait_idle()

    assert api.count(where=f"visitor_id = {me}") == 0
    assert api.rows(f"SELECT action, tier FROM analytics.consent_receipts WHERE visitor_id = {me}") == [
        ("withdraw", "anonymous")]
    assert api.count(where=f"visitor_id = {other}") == 1  # someone else's data is untouched
    assert api.count("consent_receipts", f"visitor_id = {other}") == 1
    assert api.rows("SELECT sum(views) FROM analytics.pages_daily") == views_before  # sketches only: kept

    api.send(event(url="https://test.example/after"), headers=PAGE)  # the tracker cleared the id
    assert api.rows("SELECT tier, visitor_id != 0 FROM analytics.events WHERE path = '/after'") == [
        ("anonymous", True)]
    assert api.count(where=f"visitor_id = {me}") == 0


def test_events_sent_just_before_the_withdrawal_are_erased_too(api) -> None:
    api.send([consented(url="https://test.example/last"), choice("withdraw")], headers=PAGE)
    assert api.collector.consent_worker.wait_idle()
    assert api.count() == 0
    assert api.count("consent_receipts") == 1


def test_withdrawal_on_a_strict_site_falls_back_to_denied(api) -> None:
    site = "strict.example"
    strict = {"origin": f"https://{site}"}
    api.send([event(site=site, url=f"https://{site}/", consent={"analytics": True}, vid=VID),
              choice("grant", site=site)], headers=strict)
    api.send(choice("withdraw", site=site), headers=strict)
    assert api.collector.consent_worker.wait_idle()
    assert api.rows("SELECT action, tier FROM analytics.consent_receipts") == [("withdraw", "denied")]
    assert api.count() == 0
    assert api.send(event(site=site, url=f"https://{site}/"), headers=strict).json()["dropped"] == {
        "consent_denied": 1}


def test_gpc_that_decides_the_tier_becomes_one_counted_receipt(api) -> None:
    gpc = {"sec-gpc": "1"}
    for _ in range(3):
        api.send(event(site="signals.example", url="https://signals.example/"), headers=gpc)  # gpc = denied
    api.send([event(), event()], headers=gpc)  # test.example: gpc = anonymous
    api.send(consented(), headers=gpc)  # an explicit choice wins: the signal decided nothing
    api.send(event(site="signals.example", url="https://signals.example/"), headers={"dnt": "1"})  # dnt = ignore
    api.collector.consent_worker.tick()
    rows = api.rows("SELECT site, visitor_id, action, source, tier, requests FROM analytics.consent_receipts")
    assert sorted(rows) == [
        ("signals.example", 0, "withdraw", "gpc", "denied", 3),
        ("test.example", 0, "withdraw", "gpc", "anonymous", 2)]


def test_dnt_receipt_on_a_site_that_honours_it(api) -> None:
    api.send(event(), headers={"dnt": "1"})
    api.collector.consent_worker.tick()
    assert api.rows("SELECT source, tier, requests FROM analytics.consent_receipts") == [("dnt", "anonymous", 1)]
