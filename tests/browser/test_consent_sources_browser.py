"""The consent-source extension (collector/static/t.c.js) against each real consent banner, in headless Chromium.

Each CMP's test page (pages/cmp/) runs the real package pinned in package.json: vanilla-cookieconsent,
klaro, @iabtechlabtcf/cmpapi with @iabtechlabtcf/core for a TCF API, and Google Consent Mode through
gtag/dataLayer as Google's documentation shows. The visitor rejects, accepts, or accepts and later
rejects, in the banner itself; the tests assert the rows and receipts in the store. One browser launch
per test; the scenarios of a test run at the same time, each on a page path of its own.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_harness import (
    DRIVER_TIMEOUT_S,
    ROOT,
    LiveCollector,
    assert_schema_valid,
    chromium_path,
    node_path,
    serve_collector,
    with_browser_sites,
)
from cmp_harness import STRICT_SITE, serve_cmp_pages

from collector.rights import visitor_id
from collector.settings import Settings

DRIVER = Path(__file__).resolve().parent / "consent.mjs"
CMPS = ("gcm", "tcf", "klaro", "cookieconsent")
EMPTY = {"local": [], "session": [], "cookie": ""}
# The TCF test page's CMP (cmpId, cmpVersion) and the policy version of TCF v2.2.
TCF_FIELDS = (300, 2, 4)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings plus the browser test sites and a strict one (no anonymous tier)."""
    settings = with_browser_sites(settings)
    settings.config_path.write_text(settings.config_path.read_text() + "\n" + STRICT_SITE)
    return settings


@dataclass
class Env:
    api: Any
    collector: LiveCollector
    site: str

    def drive(self, *scenarios: dict[str, str]) -> dict[str, Any]:
        """Run the scenarios in one browser launch; fail on a failed one; check every event against the schema."""
        request = {"chromium": chromium_path(), "recorded": self.collector.url + "/__recorded",
                   "scenarios": list(scenarios)}
        proc = subprocess.run([node_path(), str(DRIVER)], input=json.dumps(request), capture_output=True, text=True,
                              cwd=ROOT, timeout=DRIVER_TIMEOUT_S, check=False)
        assert proc.returncode == 0, f"consent.mjs failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
        results: dict[str, Any] = json.loads(proc.stdout)
        for name, result in results.items():
            assert result["ok"], f"scenario {name} failed:\n{result.get('failure')}\nconsole: {result['console']}"
            tracker = [e for e in result["errors"] if "/t." in e["stack"]]
            assert not tracker, f"errors from the tracker in {name}: {tracker}"
        assert_schema_valid(self.collector.recorder.posts)
        self.api.flush()
        assert self.api.collector.consent_worker.wait_idle()  # erasures after withdrawals have run
        return results

    def page(self, name: str, do: str, cmp: str, kind: str = "std", source: str | None = None,
             template: str | None = None, **extra: str) -> dict[str, str]:
        url = f"{self.site}/{kind}/{source or cmp}/{template or cmp}/{name}"
        return {"name": name, "do": do, "cmp": cmp, "url": url, **extra}

    def rows(self, path: str, columns: str = "type, name, tier") -> list[tuple[Any, ...]]:
        """Pageview and custom rows of a page (engagement and session_end rows come and go with the page's close)."""
        return sorted(self.collector.query(f"SELECT {columns} FROM analytics.events WHERE path = '{path}' "
                                           "AND type IN ('pageview', 'custom')"), key=repr)

    def hmac(self, vid: str, site: str = "browser.test") -> int:
        return visitor_id(self.api.collector.ctx.secret, site, vid)


@pytest.fixture
def env(make_api: Callable[..., Any]) -> Iterator[Env]:
    api = make_api()
    with serve_collector(api) as collector, serve_cmp_pages(collector) as site:
        yield Env(api, collector, site)


def of(events: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [e for e in events if all(e.get(k) == v for k, v in match.items())]


def test_reject_accept_and_a_later_refusal_in_each_banner(env: Env) -> None:
    """Every banner in one browser launch (the scenarios run at the same time), then each banner's checks."""
    results = env.drive(*[page for cmp in CMPS for page in (
        env.page(f"{cmp}-reject", "reject", cmp), env.page(f"{cmp}-strict", "reject", cmp, kind="strict"),
        env.page(f"{cmp}-accept", "accept", cmp), env.page(f"{cmp}-change", "change", cmp),
        env.page(f"{cmp}-auto", "accept", cmp, source="auto"))])
    receipts = env.collector.query(
        "SELECT site, action, visitor_id, tier, source, (cmp_id, cmp_version, tcf_policy_version) "
        "FROM analytics.consent_receipts")
    for cmp in CMPS:
        check_banner(env, cmp, {k.removeprefix(f"{cmp}-"): v for k, v in results.items() if k.startswith(f"{cmp}-")},
                     [r for r in receipts if r[4] == cmp])
    assert {r[4] for r in receipts} == set(CMPS)


def check_banner(env: Env, cmp: str, results: dict[str, Any], receipts: list[tuple[Any, ...]]) -> None:
    path = f"/std/{cmp}/{cmp}/{cmp}-".__add__
    tcf = TCF_FIELDS if cmp == "tcf" else (0, 0, 0)

    # Reject: nothing stored in the browser before or after, no id ever sent, anonymous rows, a refusal.
    reject = results["reject"]
    assert reject["before"] == EMPTY and "pa_id" not in reject["after"]["local"] + reject["after"]["session"]
    assert not [e for e in reject["events"] if "vid" in e or e["consent"].get("analytics")]
    (refusal,) = of(reject["events"], type="consent")
    assert refusal["action"] == "withdraw" and refusal["source"] == cmp
    assert env.rows(path("reject"), "type, tier") == [("custom", "anonymous"), ("pageview", "anonymous")]
    assert ("browser.test", "withdraw", 0, "anonymous", cmp, tcf) in receipts
    # The same refusal under a strict site: nothing stored at all, the refusal receipt says denied.
    assert results["strict"]["before"] == EMPTY and of(results["strict"]["events"], name="AfterReject")
    assert env.collector.query("SELECT count() FROM analytics.events WHERE site = 'browser-strict.test'") == [(0,)], cmp
    assert ("browser-strict.test", "withdraw", 0, "denied", cmp, tcf) in receipts

    # Accept: the first-party id only after the grant; the grant's receipt names the banner's signal.
    accept = results["accept"]
    assert accept["before"] == EMPTY and "pa_id" in accept["granted"]["local"]
    (grant,) = of(accept["events"], type="consent")
    assert grant["action"] == "grant" and grant["source"] == cmp
    full = env.hmac(grant["vid"])
    assert env.rows(path("accept"), "name, tier, visitor_id = " + str(full)) == [
        ("", "anonymous", False), ("AfterAccept", "full", True)]  # the pageview left before the choice
    assert ("browser.test", "grant", full, "full", cmp, tcf) in receipts
    # data-consent-source="auto" finds the same banner and records it.
    (auto,) = of(results["auto"]["events"], type="consent")
    assert auto["source"] == cmp and ("browser.test", "grant", env.hmac(auto["vid"]), "full", cmp, tcf) in receipts

    # Accept, then reject later: a withdrawal with the id; the consented rows and the grant are erased.
    change = results["change"]
    assert "pa_id" in change["granted"]["local"]
    assert "pa_id" not in change["after"]["local"] + change["after"]["session"]
    grant, withdraw = of(change["events"], type="consent")
    assert withdraw["action"] == "withdraw" and withdraw["vid"] == grant["vid"] and withdraw["source"] == cmp
    erased = env.hmac(grant["vid"])
    assert of(change["events"], name="Consented")[0]["vid"] == grant["vid"]  # it was sent at the full tier
    assert env.collector.query(f"SELECT count() FROM analytics.events WHERE visitor_id = {erased}") == [(0,)]
    assert [r for r in receipts if r[2] == erased] == [("browser.test", "withdraw", erased, "anonymous", cmp, tcf)]
    assert ("custom", "AfterWithdraw", "anonymous") in env.rows(path("change"))
    assert len(receipts) == 5, (cmp, receipts)


def test_no_full_tier_event_leaves_before_the_banner_answers(env: Env) -> None:
    """A returning visitor (consented on an earlier page, so t.js starts with the id) on a page whose banner
    answers 1.5 s late, or never. Every beacon the page sent is logged with the page's clock."""
    results = env.drive(
        env.page("granted", "late", "gcm", template="gcm-late", first=f"{env.site}/std/gcm/gcm/granted-first"),
        env.page("never", "late", "gcm", template="gcm-late", first=f"{env.site}/std/gcm/gcm/never-first"))

    late = results["granted"]
    assert late["answeredAt"] and late["beacons"]
    # Nothing left the page before the banner's answer: the events were held, not sent without the id...
    assert [b for b in late["beacons"] if b["at"] < late["answeredAt"]] == []
    # ...and once the grant was read they left at the full tier, the pageview included.
    (pageview,) = of([e for b in late["beacons"] for e in b["body"]], type="pageview")
    assert pageview["vid"] == late["id"] and pageview["consent"]["analytics"] is True
    assert env.rows("/std/gcm/gcm-late/granted", "type, tier, visitor_id") == [
        ("pageview", "full", env.hmac(late["id"]))]

    # The banner never answers: after the wait (data-consent-wait, 3 s) the events leave at the no-consent
    # tier, without the id the browser holds, and nothing is withdrawn.
    never = results["never"]
    sent = [e for b in never["beacons"] for e in b["body"]]
    assert of(sent, type="pageview") and never["id"]
    assert not [e for e in sent if "vid" in e or "sid" in e or e["consent"].get("analytics")]
    assert env.rows("/std/gcm/gcm-late/never", "type, tier") == [("pageview", "anonymous")]
    assert env.collector.query("SELECT count() FROM analytics.consent_receipts WHERE action = 'withdraw'") == [(0,)]
