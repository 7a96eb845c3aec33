"""The tracker (collector/static/t.js, and t.x.js it imports) in headless Chromium against a live collector.

Each test runs drive.mjs once (one browser launch) and asserts on the rows that landed in
analytics.events; every event the collector received is checked against the schema by the
`drive` fixture. Pages are served from another port than the collector: a cross-origin site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser_harness import LiveCollector, run_driver, serve_collector, serve_pages, with_browser_sites

from collector.settings import Settings

VITALS = {"LCP", "CLS", "INP", "FCP", "TTFB"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings (tests/conftest.py) plus the browser test sites."""
    return with_browser_sites(settings)


@pytest.fixture
def live_collector(make_api: Callable[..., Any]) -> Iterator[LiveCollector]:
    with serve_collector(make_api()) as collector:
        yield collector


@pytest.fixture
def drive(live_collector: LiveCollector) -> Iterator[Callable[..., dict[str, Any]]]:
    """drive(*scenarios): one browser run over the test pages, served next to the live collector."""
    with serve_pages(live_collector) as site:
        yield lambda *scenarios: run_driver(site, live_collector, *scenarios)


def from_tracker(text: str) -> bool:
    """Whether a stack or script URL points into t.js or its extension t.x.js."""
    return "/t.js" in text or "/t.x.js" in text


def tracker_errors(result: dict[str, Any]) -> list[Any]:
    """Uncaught page errors and console errors that come from t.js or t.x.js."""
    found = [e for e in result["errors"] if from_tracker(e["stack"])]
    found += [m for m in result["console"] if m["type"] == "error" and from_tracker(m["url"])]
    return found


def rows(collector: LiveCollector, where: str, columns: str = "type, name") -> list[tuple[Any, ...]]:
    """Matching rows, sorted by their values (the test clock is fixed, so ts does not order them)."""
    return sorted(collector.query(f"SELECT {columns} FROM analytics.events WHERE {where}"), key=repr)


def of(events: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [e for e in events if all(e.get(k) == v for k, v in match.items())]


def test_every_event_type_lands_as_rows(drive: Any, live_collector: LiveCollector) -> None:
    result = drive("core")["core"]
    events = result["events"]
    assert not tracker_errors(result), tracker_errors(result)
    assert [e["message"] for e in result["errors"]] == ["boom from the page"]

    # Pageview on load, and a second one after history.pushState.
    assert rows(live_collector, "type = 'pageview'", "path") == [("/core/index.html",), ("/core/next",)]
    assert result["spaPath"] == "/core/next"
    # data-event attributes: a custom event with its props.
    assert rows(live_collector, "type = 'custom' AND name = 'Signup'", "props") == [({"plan": "pro", "seats": "3"},)]
    # track() from the page: props are flat and truncated, never dropped whole.
    (props,) = rows(live_collector, "type = 'custom' AND name = 'Evaluated'", "props")[0]
    assert props["n"] == "1" and props["ok"] == "true" and props["long"] == "x" * 256
    assert rows(live_collector, "type = 'exposure'", "name, variant") == [("hero", "B")]
    # Outbound link: the host only; a download: the extension.
    ((outbound,),) = rows(live_collector, "type = 'click' AND name = 'outbound'", "target_host")
    assert outbound.startswith("localhost:")
    assert rows(live_collector, "type = 'click' AND name = 'download'", "file_ext") == [("pdf",)]
    # Heatmap clicks: positions as fractions of the page, the element's tag.
    heat = rows(live_collector, "type = 'click' AND name = 'heatmap'", "x, y, tag")
    assert len(heat) >= 5
    assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y, _ in heat)
    assert {tag for _, _, tag in heat} >= {"button", "a", "h1"}
    # Engagement per page (on the SPA navigation and when the page is left) and the session end.
    engaged = rows(live_collector, "type = 'engagement'", "path, engaged_ms, scroll_pct")
    assert [path for path, _, _ in engaged] == ["/core/index.html", "/core/next"]
    assert all(ms > 0 for _, ms, _ in engaged) and engaged[0][2] == 100  # scrolled to the bottom
    ((total, _),) = rows(live_collector, "type = 'session_end'", "engaged_ms, scroll_pct")
    assert total == sum(ms for _, ms, _ in engaged)
    # Web vitals from PerformanceObserver, reported when the page is hidden.
    vitals = dict(rows(live_collector, "type = 'vital'", "name, value"))
    assert set(vitals) == VITALS
    assert vitals["CLS"] > 0 and vitals["INP"] >= 60 and vitals["LCP"] > 0
    # The page's uncaught error: message and the script's host, nothing else.
    ((message, source),) = rows(live_collector, "type = 'error'", "message, target_host")
    assert "boom from the page" in message and source.startswith("127.0.0.1:")
    # Forms: names and actions, never what was typed.
    forms = rows(live_collector, "type = 'form'", "form_id, field, name")
    assert ("signup-form", "email", "focus") in forms and ("signup-form", "email", "change") in forms
    assert ("signup-form", "", "submit") in forms and ("newsletter", "nick", "abandon") in forms
    assert not [e for e in events if "person@example.com" in str(e) or "someone" in str(e)]
    # No consent given: anonymous tier, no first-party ids sent, no storage used.
    assert rows(live_collector, "tier != 'anonymous'", "type") == []
    assert not [e for e in events if "vid" in e or "sid" in e or e["consent"] != {}]
    # The extension gives every event a random event_id (dedup of re-sent events), queued ones included.
    ids = [e.get("event_id") for e in events]
    assert all(ids) and len(set(ids)) == len(ids)


def test_consent_grant_sends_the_first_party_id(drive: Any, live_collector: LiveCollector) -> None:
    result = drive("consent")["consent"]
    events = result["events"]
    assert not tracker_errors(result)
    # Before consent: nothing stored in the browser, no id sent, anonymous rows.
    assert result["before"] == {"local": [], "session": [], "cookie": ""}
    first = of(events, type="pageview")[0]
    assert first["consent"] == {} and "vid" not in first and "sid" not in first
    # consent({analytics: true}): a receipt event, an id in localStorage (and a session id), no cookie.
    (grant,) = of(events, type="consent")
    assert grant["action"] == "grant" and grant["categories"] == ["analytics"]
    assert result["granted"] == {"local": ["pa_id"], "session": ["pa_id"], "cookie": ""}
    after = of(events, type="custom") + of(events, type="pageview")[1:]
    assert {e["vid"] for e in after} == {grant["vid"]} and all(e["sid"] and e["consent"] == {"analytics": True}
                                                              for e in after)
    assert rows(live_collector, "type = 'pageview'", "tier") == [("anonymous",), ("full",)]
    ((full_id,),) = rows(live_collector, "name = 'AfterGrant' AND tier = 'full'", "visitor_id")
    assert full_id != 0
    # The reload remembers the consent: the same pseudonymous id.
    assert rows(live_collector, "type = 'pageview' AND tier = 'full'", "visitor_id") == [(full_id,)]
    # The consent event became a receipt for that visitor, not a raw event.
    assert live_collector.query("SELECT action, categories, visitor_id, source FROM analytics.consent_receipts"
                                ) == [("grant", ["analytics"], full_id, "api")]  # pa.consent() from the page
    assert rows(live_collector, "type = 'consent'", "type") == []


def test_consent_withdrawal_clears_storage(drive: Any, live_collector: LiveCollector) -> None:
    result = drive("withdraw")["withdraw"]
    events = result["events"]
    assert not tracker_errors(result)
    grant, withdraw = of(events, type="consent")
    assert result["granted"]["local"] == ["pa_id"]
    # The withdrawal carries the id it withdraws, so the collector can erase that visitor.
    assert withdraw["action"] == "withdraw" and withdraw["vid"] == grant["vid"]
    assert withdraw["consent"] == {"analytics": False} and withdraw["policy_version"] == "2026-11"
    assert result["after"] == {"local": [], "session": [], "cookie": ""}
    (later,) = of(events, type="custom", name="AfterWithdraw")
    assert "vid" not in later and "sid" not in later and later["consent"] == {"analytics": False}
    assert rows(live_collector, "name = 'AfterWithdraw'", "tier") == [("anonymous",)]
    withdrawals = live_collector.query(
        "SELECT policy_version, visitor_id != 0 FROM analytics.consent_receipts WHERE action = 'withdraw'")
    assert withdrawals == [("2026-11", True)]


def test_global_privacy_control_follows_the_site_policy(drive: Any, live_collector: LiveCollector) -> None:
    result = drive("gpc")["gpc"]
    events = result["events"]
    assert not tracker_errors(result)
    # GPC overrides the site's data-consent="granted" default: nothing stored, no id, the signal sent.
    assert result["before"] == {"local": [], "session": [], "cookie": ""}
    (under,) = of(events, name="UnderGpc")
    assert under["consent"] == {"gpc": True} and "vid" not in under
    # browser.test keeps anonymous statistics under GPC; browser-gpc.test stores nothing.
    assert rows(live_collector, "site = 'browser.test' AND name = 'UnderGpc'", "tier") == [("anonymous",)]
    assert of(events, name="DeniedSite")[0]["consent"] == {"gpc": True}
    assert rows(live_collector, "site = 'browser-gpc.test'", "type") == []
    # An explicit consent() still counts, signal or not.
    (consented,) = of(events, name="GpcButConsented")
    assert consented["consent"] == {"analytics": True, "gpc": True} and consented["vid"]
    assert rows(live_collector, "name = 'GpcButConsented'", "tier") == [("full",)]


def test_broken_pages_and_a_dead_collector_keep_working(drive: Any, live_collector: LiveCollector) -> None:
    results = drive("throws", "dead")
    broken, dead = results["throws"], results["dead"]
    # The page's own scripts throw before and after the tracker: the page and the tracker go on.
    assert broken["title"] == "still working" and broken["count"] == "1"
    assert {e["message"] for e in broken["errors"]} == {"page script fails before the tracker",
                                                        "page script fails after load"}
    assert not tracker_errors(broken)
    ((message,),) = rows(live_collector, "type = 'error'", "message")
    assert "page script fails after load" in message
    assert rows(live_collector, "type = 'pageview'", "path") == [("/throws/throws.html",)]
    # A call queued through the snippet's stub before t.js loaded.
    assert rows(live_collector, "type = 'custom'", "name, props") == [("Queued", {"early": "1"})]
    # data-api at a closed port: requests fail quietly, the page never sees an error from t.js.
    assert dead["failed"], "the tracker should have tried to send"
    assert dead["path"] == "/dead/next"
    assert [e["message"] for e in dead["errors"]] == ["boom from the page"]
    assert not tracker_errors(dead), tracker_errors(dead)


def test_excluded_pages_send_nothing(drive: Any, live_collector: LiveCollector) -> None:
    result = drive("excluded")["excluded"]
    urls = [e["url"].split("/", 3)[3] for e in result["events"]]
    assert not [u for u in urls if u.startswith(("local/", "excl/private", "excl/admin"))], urls
    assert [e["url"].split("/", 3)[3] for e in of(result["events"], type="pageview")] == [
        "excl/public", "hash/index.html", "hash/index.html#/settings"]
    assert rows(live_collector, "type = 'custom'", "name") == []
