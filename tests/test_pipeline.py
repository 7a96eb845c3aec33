"""The privacy pipeline end to end through the ingest API: what is stored, what is dropped and why."""

from __future__ import annotations

import hashlib
import hmac

from conftest import FIREFOX, LONDON_IP, MINNEAPOLIS_IP, event

from collector import pipeline
from collector.event import Reason


def test_pipeline_is_one_ordered_list_of_named_steps() -> None:
    names = [step.__name__ for step in pipeline.PIPELINE]
    assert names == ["resolve_site", "client_ip", "geolocate", "user_agent", "referrer_spam", "consent",
                     "pseudonymise", "honour_withdrawal", "receipt", "discard_ip", "minimise", "to_row", "dedup_key"]


def test_city_level_geo_from_a_real_address(api) -> None:
    assert api.send(event()).status_code == 202
    assert api.rows("SELECT country, region, city, city_geoname_id FROM analytics.events") == [
        ("GB", "GB-ENG", "Willesden", 2633907)]


def test_country_granularity_site_stores_only_the_country(api) -> None:
    api.send(event(site="country.example", url="https://country.example/"))
    assert api.rows("SELECT country, region, city, city_geoname_id FROM analytics.events") == [("GB", "", "", 0)]


def test_technology_from_user_agent(api) -> None:
    api.send(event())
    assert api.rows("SELECT browser, browser_version, os, os_version, device FROM analytics.events") == [
        ("Firefox", "133", "Linux", "", "desktop")]


def test_query_string_keeps_only_allow_listed_params(api) -> None:
    api.send(event(url="https://test.example/signup?email=a@b.c&token=x&utm_source=news"))
    row = api.rows("SELECT path, utm_source, params FROM analytics.events")
    assert row == [("/signup", "news", {})]
    everything = str(api.rows("SELECT * FROM analytics.events"))
    assert "a@b.c" not in everything and "token" not in everything


def test_site_allow_listed_param_is_kept(api) -> None:
    api.send(event(url="https://test.example/?ref=producthunt&session=abc"))
    assert api.rows("SELECT params FROM analytics.events") == [({"ref": "producthunt"},)]


def test_external_referrer_keeps_host_internal_keeps_path(api) -> None:
    api.send([event(referrer="https://www.google.com/search?q=private+words"),
              event(url="https://test.example/b", referrer="https://test.example/a?x=1")])
    assert api.rows("SELECT path, referrer_host, referrer_path FROM analytics.events ORDER BY path") == [
        ("/", "google.com", ""), ("/b", "", "/a")]


def test_error_message_is_scrubbed(api) -> None:
    api.send(event(type="error", message="failed for jane@doe.com order 12345678", source="cdn.test.example"))
    assert api.rows("SELECT message, target_host FROM analytics.events") == [
        ("failed for [email] order #", "cdn.test.example")]


# --- consent tiers --------------------------------------------------------------------------------

def _ids(api) -> list[tuple[str, int, int]]:
    return api.rows("SELECT tier, visitor_id, session_id FROM analytics.events ORDER BY ts")


def test_full_tier_stores_hmac_of_the_first_party_id(api) -> None:
    vid, sid = "v" * 20, "s" * 12
    api.send(event(consent={"analytics": True}, vid=vid, sid=sid))
    secret = api.collector.ctx.secret
    expected = int.from_bytes(hmac.digest(secret, f"visitor\0test.example\0{vid}".encode(), "sha256")[:8], "big")
    tier, visitor, session = _ids(api)[0]
    assert (tier, visitor) == ("full", expected)
    assert session not in (0, visitor)
    assert vid not in str(api.rows("SELECT * FROM analytics.events"))


def test_anonymous_tier_has_no_stable_id(api, clock) -> None:
    api.send(event(vid="v" * 20))  # an id sent without consent is ignored
    clock.advance(86400)
    api.send(event())
    (t1, v1, s1), (t2, v2, s2) = _ids(api)
    assert t1 == t2 == "anonymous"
    assert v1 != v2  # the daily salt changed: the same browser is a new visitor the next day
    salt = api.collector.ctx.salts.for_time(clock.now)
    expected = hashlib.blake2b(f"test.example\0{LONDON_IP}\0{FIREFOX}".encode(), key=salt, digest_size=8).digest()
    assert v2 == s2 == int.from_bytes(expected, "big")


def test_consent_false_is_anonymous(api) -> None:
    api.send(event(consent={"analytics": False}, vid="v" * 20))
    assert _ids(api)[0][0] == "anonymous"


def test_strict_site_without_consent_stores_nothing_but_a_count(api) -> None:
    response = api.send(event(site="strict.example", url="https://strict.example/"))
    assert response.json() == {"accepted": 0, "dropped": {"consent_denied": 1}}
    assert api.count() == 0
    assert api.rows("SELECT site, reason, sum(events) FROM analytics.dropped_daily GROUP BY ALL") == [
        ("strict.example", "consent_denied", 1)]


def test_strict_site_with_consent_is_full(api) -> None:
    api.send(event(site="strict.example", url="https://strict.example/", consent={"analytics": True}, vid="v" * 20))
    assert _ids(api)[0][0] == "full"


def test_gpc_header_follows_site_policy(api) -> None:
    # signals.example maps GPC to denied; test.example keeps the default (anonymous).
    r = api.send(event(site="signals.example", url="https://signals.example/"), headers={"sec-gpc": "1"})
    assert r.json()["dropped"] == {"consent_denied": 1}
    api.send(event(), headers={"sec-gpc": "1"})
    assert _ids(api)[0][0] == "anonymous"
    assert api.count() == 1


def test_dnt_header_is_honoured_or_ignored_per_policy(make_api, tmp_path) -> None:
    api = make_api()
    assert api.send(event(site="signals.example", url="https://signals.example/"),
                    headers={"dnt": "1"}).json()["accepted"] == 1  # dnt = "ignore"
    assert api.send(event(site="strict.example", url="https://strict.example/"),
                    headers={"dnt": "1"}).json()["dropped"] == {"consent_denied": 1}


def test_explicit_consent_wins_over_gpc(api) -> None:
    api.send(event(site="signals.example", url="https://signals.example/", consent={"analytics": True},
                   vid="v" * 20), headers={"sec-gpc": "1"})
    assert _ids(api)[0][0] == "full"


# --- drop reasons: one test each, counter and nothing else stored ---------------------------------

def _assert_only_dropped(api, reason: Reason, site: str) -> None:
    assert api.count() == 0
    assert api.collector.metrics.get("collector_events_dropped_total", reason=reason.value) == 1
    assert api.rows("SELECT site, reason, sum(events) FROM analytics.dropped_daily GROUP BY ALL") == [
        (site, reason.value, 1)]


def test_drop_unknown_site(api) -> None:
    assert api.send(event(site="nobody.example")).json() == {"accepted": 0, "dropped": {"unknown_site": 1}}
    _assert_only_dropped(api, Reason.UNKNOWN_SITE, "")


def test_drop_bot(api) -> None:
    ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    assert api.send(event(), ua=ua).json() == {"accepted": 0, "dropped": {"bot": 1}}
    _assert_only_dropped(api, Reason.BOT, "test.example")


def test_drop_consent_denied(api) -> None:
    api.send(event(site="strict.example", url="https://strict.example/"))
    _assert_only_dropped(api, Reason.CONSENT_DENIED, "strict.example")


def test_origin_not_allowed_rejects_the_request(api) -> None:
    response = api.send([event(), event()], headers={"origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json()["error"] == "origin_not_allowed"
    assert api.count() == 0
    assert api.collector.metrics.get("collector_requests_rejected_total", error="origin_not_allowed") == 1


def test_every_reason_has_a_test() -> None:
    # referrer_spam and duplicate: tests/test_quality_filters.py
    tested = {"unknown_site", "bot", "consent_denied", "origin_not_allowed", "referrer_spam", "duplicate"}
    assert {r.value for r in Reason} == tested


# --- client address ---------------------------------------------------------------------------------

def test_spoofed_forwarded_for_from_untrusted_peer_is_ignored(make_api) -> None:
    api = make_api(peer=LONDON_IP)
    api.send(event(), headers={"x-forwarded-for": MINNEAPOLIS_IP})
    assert api.rows("SELECT city FROM analytics.events") == [("Willesden",)]


def test_forwarded_for_from_trusted_proxy_is_used(make_api) -> None:
    from collector.settings import parse_networks

    api = make_api(peer="10.0.0.5", trusted_proxies=parse_networks("10.0.0.0/8"))
    # right-most untrusted address wins: the client can prepend anything it likes
    api.send(event(), headers={"x-forwarded-for": f"{LONDON_IP}, {MINNEAPOLIS_IP}, 10.0.0.7"})
    api.send(event(url="https://test.example/fwd"), headers={"forwarded": f'for="{LONDON_IP}"'})
    assert api.rows("SELECT city FROM analytics.events ORDER BY path") == [("Minneapolis",), ("Willesden",)]


def test_browser_read_signals_sent_as_consent_flags(api) -> None:
    # A page cannot set Sec-GPC; the tracker reads navigator.globalPrivacyControl and sends it as a flag.
    r = api.send(event(site="signals.example", url="https://signals.example/", consent={"gpc": True}))
    assert r.json()["dropped"] == {"consent_denied": 1}
    assert api.send(event(consent={"gpc": True, "dnt": True})).json()["accepted"] == 1
    assert _ids(api)[0][0] == "anonymous"
