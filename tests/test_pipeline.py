"""The privacy pipeline end to end through the ingest API: what is stored, what is dropped and why."""

from __future__ import annotations

import ast
import hashlib
import hmac
from pathlib import Path

import pytest
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


@pytest.mark.both_modes  # also in server mode (conftest)
def test_full_tier_stores_hmac_of_the_first_party_id(api) -> None:
    vid, sid = "v" * 20, "s" * 12
    api.send(event(consent={"analytics": True}, vid=vid, sid=sid))
    secret = api.collector.ctx.secret
    expected = int.from_bytes(hmac.digest(secret, f"visitor\0test.example\0{vid}".encode(), "sha256")[:8], "big")
    tier, visitor, session = _ids(api)[0]
    assert (tier, visitor) == ("full", expected)
    assert session not in (0, visitor)
    assert vid not in str(api.rows("SELECT * FROM analytics.events"))


def anonymous_id(api, site: str = "test.example", ip: str = LONDON_IP, ua: str = FIREFOX) -> int:
    """The anonymous tier's id for today, computed here from its definition: the daily salt's keyed
    hash of (site, IP, user agent)."""
    salt = api.collector.ctx.salts.for_time(api.collector.clock())
    return int.from_bytes(hashlib.blake2b(f"{site}\0{ip}\0{ua}".encode(), key=salt, digest_size=8).digest(), "big")


def full_id(api, vid: str, site: str = "test.example") -> int:
    secret = api.collector.ctx.secret
    return int.from_bytes(hmac.digest(secret, f"visitor\0{site}\0{vid}".encode(), "sha256")[:8], "big")


@pytest.mark.parametrize("consent", [{}, {"analytics": False}], ids=["no signal", "consent false"])
def test_an_id_sent_without_consent_is_ignored(api, consent) -> None:
    """Two browsers sending different first-party ids without consent from one address and user agent
    are one anonymous visitor, with the id the salt gives (site, IP, UA): the ids changed nothing."""
    api.send([event(consent=consent, vid="v" * 20), event(consent=consent, vid="w" * 20), event(consent=consent)])
    rows = _ids(api)
    assert rows == [("anonymous", anonymous_id(api), anonymous_id(api))] * 3
    assert full_id(api, "v" * 20) not in {v for _, v, _ in rows}
    everything = str(api.rows("SELECT * FROM analytics.events"))
    assert "v" * 20 not in everything and "w" * 20 not in everything


@pytest.mark.both_modes  # also in server mode (conftest)
def test_anonymous_tier_has_no_stable_id(api, clock) -> None:
    api.send(event())
    first = anonymous_id(api)
    clock.advance(86400)
    api.send(event())
    (t1, v1, s1), (t2, v2, s2) = _ids(api)
    assert t1 == t2 == "anonymous"
    assert (v1, s1) == (first, first) and (v2, s2) == (anonymous_id(api),) * 2
    assert v1 != v2  # the daily salt changed: the same browser is a new visitor the next day


def test_consent_false_is_anonymous(api) -> None:
    """Consent false with a first-party id: the anonymous tier in every column, the id unused and not stored."""
    api.send(event(consent={"analytics": False}, vid="v" * 20, sid="s" * 12))
    assert _ids(api) == [("anonymous", anonymous_id(api), anonymous_id(api))]
    assert api.count("consent_receipts") == 0  # only a consent event is a receipt
    assert "v" * 20 not in str(api.rows("SELECT * FROM analytics.events"))


@pytest.mark.both_modes  # also in server mode (conftest)
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


@pytest.mark.reason("unknown_site")
def test_drop_unknown_site(api) -> None:
    assert api.send(event(site="nobody.example")).json() == {"accepted": 0, "dropped": {"unknown_site": 1}}
    _assert_only_dropped(api, Reason.UNKNOWN_SITE, "")


@pytest.mark.reason("bot")
def test_drop_bot(api) -> None:
    ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    assert api.send(event(), ua=ua).json() == {"accepted": 0, "dropped": {"bot": 1}}
    _assert_only_dropped(api, Reason.BOT, "test.example")


@pytest.mark.reason("consent_denied")
def test_drop_consent_denied(api) -> None:
    api.send(event(site="strict.example", url="https://strict.example/"))
    _assert_only_dropped(api, Reason.CONSENT_DENIED, "strict.example")


@pytest.mark.reason("origin_not_allowed")
def test_origin_not_allowed_rejects_the_request(api) -> None:
    response = api.send([event(), event()], headers={"origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json()["error"] == "origin_not_allowed"
    assert api.count() == 0
    assert api.collector.metrics.get("collector_requests_rejected_total", error="origin_not_allowed") == 1


def reason_tests(test_dir: Path = Path(__file__).parent) -> dict[str, list[str]]:
    """{reason: [test ids]} from every test function, in any test file under tests/, decorated with
    `@pytest.mark.reason("...")` (or carrying it in a `pytest.param(..., marks=...)`): read from the
    test files' syntax trees, so it lists the tests that exist, wherever they are."""
    found: dict[str, list[str]] = {}
    for path in sorted(test_dir.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.name.startswith("test_"):
                continue
            for call in (c for d in node.decorator_list for c in ast.walk(d) if isinstance(c, ast.Call)):
                if ast.unparse(call.func) == "pytest.mark.reason" and call.args:
                    reason = ast.literal_eval(call.args[0])
                    found.setdefault(reason, []).append(f"{path.relative_to(test_dir.parent)}::{node.name}")
    return found


def test_every_reason_has_a_test() -> None:
    tested = reason_tests()
    assert {r.value for r in Reason} - set(tested) == set(), f"drop reasons without a test: {tested}"
    assert set(tested) <= {r.value for r in Reason}, "a test marked with a reason that does not exist"


def test_the_reason_check_can_fail(tmp_path: Path) -> None:
    """A reason whose test is missing, or only mentioned outside a decorator, is not counted."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_other.py").write_text(
        "import pytest\n\n@pytest.mark.reason('bot')\ndef test_a():\n    pass\n\n"
        "@pytest.mark.parametrize('x', [pytest.param(1, marks=pytest.mark.reason('duplicate'))])\n"
        "def test_b(x):\n    pass\n\n"
        "def test_c():\n    pytest.mark.reason('consent_denied')\n\n"
        "@pytest.mark.reason('unknown_site')\ndef helper():\n    pass\n")
    assert reason_tests(tmp_path / "tests") == {"bot": ["tests/test_other.py::test_a"],
                                                "duplicate": ["tests/test_other.py::test_b"]}


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
