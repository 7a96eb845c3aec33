"""The dashboard's doors (collector/read/dashboard.py, gate.py, dashboard_api.py): login, the session cookie,
CSRF, the CSP of its pages, its static files, and a 401/redirect for every route without a session.
The numbers it shows are checked in the browser test (tests/browser/test_dashboard_browser.py)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import Api, Clock, event, serve
from rawhttp import raw_request

from collector.read import throttle
from collector.read.session import COOKIE, TTL_S
from collector.settings import DEMO_CONFIG, Settings

TOKEN = "admin-token-for-tests"
READER = f"""
[users.reader]
role = "read"
password_sha256_hex = "{hashlib.sha256(b"reader-pass").hexdigest()}"
sites = ["test.example"]
"""
PAGES = ["/dashboard", "/dashboard/heatmap?site_id=test.example&page=/"]
DATA_GETS = ["/dashboard/api/sites", "/dashboard/api/realtime?site_id=test.example",
             "/dashboard/api/card?card=tiers&site_id=test.example",
             "/dashboard/api/heatmap?site_id=test.example&page=/",
             '/dashboard/export.csv?q={"site_id":"test.example","metrics":["visitors"]}']


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.config_path.write_text(settings.config_path.read_text() + READER)
    return replace(settings, admin_token=TOKEN)


def login(api: Api, user: str = "reader", password: str = "reader-pass", **headers: str) -> Any:
    return api.client.post("/dashboard/login", data={"user": user, "password": password},
                           headers=headers, follow_redirects=False)


def get_with(api: Api, path: str, cookie: str) -> Any:
    """GET `path` carrying exactly this session cookie."""
    api.client.cookies.clear()
    api.client.cookies.set(COOKIE, cookie)
    return api.client.get(path)


def csrf_of(api: Api) -> str:
    page = api.client.get("/dashboard").text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert match, page
    return match.group(1)


def test_without_a_session_pages_redirect_to_login_and_data_answers_401(api: Api) -> None:
    for path in PAGES:
        r = api.client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/dashboard/login"), path
    for path in DATA_GETS:
        r = api.client.get(path)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized", path
    r = api.client.post("/dashboard/api/query", json={"site_id": "test.example", "metrics": ["visitors"]})
    assert r.status_code == 401
    assert api.client.get("/dashboard/login").status_code == 200


def test_login_exchanges_the_credential_for_a_hardened_session_cookie(api: Api) -> None:
    r = login(api)
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=v1.")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/dashboard", f"Max-Age={TTL_S}"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http here; see the TLS test
    assert "reader-pass" not in cookie
    page = api.client.get("/dashboard")
    assert page.status_code == 200 and "reader (read)" in page.text
    assert api.client.get("/dashboard/api/sites").json()["sites"] == [{"site_id": "test.example", "first_event": None}]


def test_the_cookie_is_secure_over_tls(make_api: Callable[..., Api]) -> None:
    api = make_api()
    api.client.base_url = "https://testserver"  # type: ignore[assignment]
    assert "Secure" in login(api).headers["set-cookie"].split("; ")


@pytest.mark.parametrize(("user", "password"), [("reader", "wrong"), ("nobody", "reader-pass"), ("admin", "nope"),
                                                ("reader", "")])
def test_a_wrong_credential_gets_401_and_no_cookie(api: Api, user: str, password: str) -> None:
    r = login(api, user, password)
    assert r.status_code == 401 and "set-cookie" not in r.headers
    assert "Wrong user name or password." in r.text


def test_the_admin_logs_in_with_the_admin_token_and_reads_every_site(api: Api) -> None:
    assert login(api, "admin", TOKEN).status_code == 303
    sites = [s["site_id"] for s in api.client.get("/dashboard/api/sites").json()["sites"]]
    assert sites == sorted(api.collector.config.sites)


def test_a_credential_in_the_url_logs_nobody_in(api: Api) -> None:
    r = api.client.get("/dashboard/login?user=reader&password=reader-pass", follow_redirects=False)
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert 'method="post"' in r.text


def test_a_session_for_one_site_is_refused_for_another(api: Api) -> None:
    login(api)
    r = api.client.get("/dashboard/api/realtime?site_id=country.example")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = api.client.post("/dashboard/api/query", json={"site_id": "country.example", "metrics": ["visitors"]},
                        headers={"x-csrf-token": csrf_of(api)})
    assert r.status_code == 403
    r = api.client.get('/dashboard/export.csv?q={"site_id":"country.example","metrics":["visitors"]}')
    assert r.status_code == 403


def test_a_tampered_cookie_or_one_from_another_collector_is_refused(make_api: Callable[..., Api]) -> None:
    api, other = make_api(), make_api()
    login(api)
    value = api.client.cookies[COOKIE]
    version, payload, mac = value.split(".")
    forged = f"{version}.{payload[:-2]}AA.{mac}"
    for cookie in (forged, "v1.e30.AAAA", "garbage", ""):
        assert get_with(other, "/dashboard/api/sites", cookie).status_code == 401, cookie
    # A genuine cookie of one collector means nothing to another (each signs with its own key).
    assert get_with(other, "/dashboard/api/sites", value).status_code == 401
    assert get_with(api, "/dashboard/api/sites", value).status_code == 200


def test_an_expired_session_is_refused(api: Api, clock: Clock) -> None:
    login(api)
    assert api.client.get("/dashboard/api/sites").status_code == 200
    clock.advance(TTL_S + 1)
    assert api.client.get("/dashboard/api/sites").status_code == 401
    assert api.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_logging_out_invalidates_the_session_on_the_server(api: Api) -> None:
    login(api)
    value = api.client.cookies[COOKIE]
    token = csrf_of(api)
    r = api.client.post("/dashboard/logout", data={"csrf": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard/login")
    assert "Max-Age=0" in r.headers["set-cookie"]
    # The old cookie, replayed (as by someone who copied it), is dead.
    assert get_with(api, "/dashboard/api/sites", value).status_code == 401


def test_logout_without_the_csrf_token_does_nothing(api: Api) -> None:
    login(api)
    assert api.client.post("/dashboard/logout", data={"csrf": "wrong"}).status_code == 403
    assert api.client.get("/dashboard/api/sites").status_code == 200


def test_data_posts_need_the_csrf_token(api: Api) -> None:
    login(api)
    body = {"site_id": "test.example", "metrics": ["visitors"], "date_range": "7d"}
    for headers in ({}, {"x-csrf-token": "forged"}):
        r = api.client.post("/dashboard/api/query", json=body, headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "csrf"
    r = api.client.post("/dashboard/api/query", json=body, headers={"x-csrf-token": csrf_of(api)})
    assert r.status_code == 200 and "results" in r.json(), r.text


def test_a_login_posted_from_another_origin_is_refused(api: Api) -> None:
    r = login(api, origin="https://evil.example")
    assert r.status_code == 403 and "set-cookie" not in r.headers
    assert login(api, origin="http://testserver").status_code == 303


def test_bad_input_is_a_4xx_never_a_500(api: Api) -> None:
    login(api)
    headers = {"x-csrf-token": csrf_of(api)}
    assert api.client.post("/dashboard/api/query", content=b"{nope", headers=headers).status_code == 400
    assert api.client.post("/dashboard/api/query", json=[1], headers=headers).status_code == 400
    assert api.client.post("/dashboard/api/query", content=b"x" * 20000, headers=headers).status_code == 413
    assert api.client.get("/dashboard/api/card?card=nope&site_id=test.example").status_code == 400
    assert api.client.get("/dashboard/api/heatmap?site_id=test.example&width=wide").status_code == 400
    assert api.client.get("/dashboard/export.csv?q=%7B").status_code == 400
    for body in (b"user=" + b"a&" * 3000, b"&".join(b"f%d=1" % i for i in range(20))):
        assert api.client.post("/dashboard/login", content=body,
                               headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 401


def test_pages_carry_a_csp_without_inline_scripts_and_load_only_their_own_files(api: Api) -> None:
    pages = [api.client.get("/dashboard/login")]
    login(api)
    pages += [api.client.get(path, follow_redirects=False) for path in PAGES]
    for r in pages:
        path = r.url.path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert "frame-ancestors 'none'" in csp and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers.get_list("content-security-policy") == [csp]
        # Every script is a file of the collector: no inline script, no inline handler, no other host.
        assert not re.search(r"<script(?![^>]*\bsrc=\"/dashboard/static/)", r.text), path
        assert not re.search(r"\son[a-z]+=", r.text) and "http" not in re.sub(r"https?://127|<p class=\"hint\">.*", "",
                                                                                  r.text, flags=re.S)


def test_static_files_are_served_gzipped_with_an_etag_and_nothing_else(api: Api) -> None:
    r = api.client.get("/dashboard/static/dashboard.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip" and "import" in r.text
    assert r.headers["content-type"].startswith("text/javascript")
    again = api.client.get("/dashboard/static/dashboard.js", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304
    assert api.client.get("/dashboard/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
    assert "MIT License" in api.client.get("/dashboard/static/vendor/uplot/LICENSE").text
    for name in ("dashboard.html", "nope.js"):
        assert api.client.get(f"/dashboard/static/{name}").status_code == 404, name


def test_static_paths_that_climb_out_are_not_found(api: Api) -> None:
    """Sent byte for byte over a socket: httpx would normalise `../` away before the server saw it."""
    with serve(api.client.app) as url:
        for name in ("../session.py", "..%2Fsession.py", "../../settings.py", "%2e%2e/%2e%2e/settings.py",
                     "..\\session.py", "./../gate.py", "vendor/../../session.py"):
            answer = raw_request(url, "GET", f"/dashboard/static/{name}")
            assert answer.status == 404 and b"import" not in answer.body, (name, answer.status)


def test_demo_mode_serves_the_demo_site_and_a_generated_login(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_api(config_path=DEMO_CONFIG, data_dir=tmp_path / "demo-data")
    home = api.client.get("/")
    assert home.status_code == 200 and 'src="/t.js" data-site="demo.example"' in home.text
    assert 'data-event="Signup"' in home.text and 'href="https://example.com/"' in home.text
    assert "frame-ancestors 'self'" in home.headers["content-security-policy"]
    assert api.client.get("/pricing").status_code == 200 and api.client.get("/demo.css").status_code == 200
    secret = tmp_path / "demo-data" / "demo-login"
    password = secret.read_text().strip()
    assert len(password) >= 16 and secret.stat().st_mode & 0o077 == 0
    assert login(api, "demo", "wrong").status_code == 401
    assert login(api, "demo", password).status_code == 303
    sites = api.client.get("/dashboard/api/sites").json()
    assert [s["site_id"] for s in sites["sites"]] == ["demo.example"]
    # Another data directory, another password: never a fixed one.
    other = make_api(config_path=DEMO_CONFIG, data_dir=tmp_path / "other-data")
    assert (tmp_path / "other-data" / "demo-login").read_text().strip() != password
    assert other.client.get("/").status_code == 200


def test_without_the_demo_config_there_is_no_demo_site_or_demo_login(api: Api) -> None:
    assert api.client.get("/").status_code == 404
    assert not (api.collector.settings.data_dir / "demo-login").exists()
    assert login(api, "demo", "anything").status_code == 401


def card(api: Api, which: str, **params: str) -> Any:
    return api.client.get("/dashboard/api/card", params={"card": which, "site_id": "test.example", **params})


def test_the_cards_without_a_stats_dimension_come_from_the_dashboard_queries(make_api: Callable[..., Api]) -> None:
    api = make_api()
    visitor = {"consent": {"analytics": True}, "vid": "visitor-000000000001"}
    vital = event(type="vital", name="LCP", value=1234.0, **visitor)
    assert api.send([event(), event(**visitor), vital]).status_code == 202
    api.send(event(), ua="Googlebot/2.1 (+http://www.google.com/bot.html)")
    api.flush()
    login(api, "admin", TOKEN)
    tiers = card(api, "tiers").json()
    assert tiers["query"]["metrics"] == ["visitors", "visitor_share", "events"]
    assert sorted(r["dimensions"][0] for r in tiers["results"]) == ["anonymous", "full"]
    assert card(api, "vitals", name="LCP").json()["results"] == [{"dimensions": ["/"], "metrics": [1234.0, 1]}]
    assert card(api, "dropped").json()["results"] == [{"dimensions": ["bot"], "metrics": [1]}]
    # Consent sources: one grant read from Google Consent Mode, one pa.consent() call (api), one TCF refusal.
    choice = {"type": "consent", "categories": ["analytics"]}
    api.send([event(**choice, action="grant", source="gcm", **visitor), event(**choice, action="grant",
              consent={"analytics": True}, vid="visitor-000000000002"),
              event(**choice, action="withdraw", source="tcf", cmp_id=300, cmp_version=2, tcf_policy_version=4)])
    api.flush()
    sources = card(api, "sources").json()
    assert sources["query"]["metrics"] == ["visitors", "visitor_share", "grants", "refusals"]
    assert sorted((r["dimensions"][0], r["metrics"]) for r in sources["results"]) == [
        ("api", [1, 33.33, 1, 0]), ("gcm", [1, 33.33, 1, 0]), ("tcf", [1, 33.33, 0, 1])]
    # A read user (k = 5 on this site) sees no tier of one visitor, and no vitals (no visitor count to check).
    reader = make_api()
    login(reader)
    tiers = card(reader, "tiers").json()
    assert tiers["results"] == [] and tiers["meta"]["suppressed_rows"] == 2
    assert tiers["meta"]["small_cell_threshold"] == 5
    assert card(reader, "vitals", name="LCP").json()["results"] == []
    assert card(reader, "sources").json()["meta"]["suppressed_rows"] == 3  # one visitor each: below k
    assert card(reader, "dropped").json()["results"] == [{"dimensions": ["bot"], "metrics": [1]}]
    for bad in ({"name": "XYZ"}, {"date_range": "forever"}, {"date_range": "[1]"},
                {"date_range": '["2026-01-02", "x"]'}):
        assert card(api, "vitals", **{"name": "LCP", **bad}).status_code == 400, bad


def test_every_card_exports_csv(make_api: Callable[..., Api]) -> None:
    api = make_api()
    api.send(event(), ua="Googlebot/2.1 (+http://www.google.com/bot.html)")
    api.flush()
    login(api, "admin", TOKEN)
    r = api.client.get("/dashboard/export.csv", params={"card": "dropped", "site_id": "test.example", "name": "x"})
    assert r.status_code == 200 and r.headers["content-disposition"] == 'attachment; filename="x.csv"'
    assert r.content.decode("utf-8-sig").splitlines() == ["dropped,events", "bot,1"]
    r = api.client.get("/dashboard/export.csv", params={"q": '{"site_id":"test.example","metrics":["visitors"],'
                                                             '"dimensions":["event:page"],"date_range":"7d"}'})
    assert r.status_code == 200 and r.content.decode("utf-8-sig").splitlines()[0] == "event:page,visitors"
    bad = api.client.get("/dashboard/export.csv", params={"q": '{"site_id":"test.example","metrics":["nope"],'
                                                               '"date_range":"7d"}'})
    assert bad.status_code == 400 and "metrics" in bad.json()["detail"]


def test_failed_logins_are_limited_per_user_with_retry_after(make_api: Callable[..., Api], clock: Clock) -> None:
    """Ten failures for one user, each from another network, and even the right password waits out the window."""
    api = make_api(peer="10.0.0.2", trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    for n in range(throttle.PER_USER):
        assert login(api, "reader", "wrong", **{"x-forwarded-for": f"198.51.{n}.7"}).status_code == 401
    r = login(api, "reader", "reader-pass", **{"x-forwarded-for": "192.0.2.9"})
    assert r.status_code == 429 and "set-cookie" not in r.headers
    assert 0 < int(r.headers["retry-after"]) <= throttle.WINDOW_S and "Too many failed logins" in r.text
    assert login(api, "admin", TOKEN, **{"x-forwarded-for": "192.0.2.9"}).status_code == 303  # others go on
    clock.advance(throttle.WINDOW_S + 1)
    assert login(api, "reader", "reader-pass", **{"x-forwarded-for": "192.0.2.9"}).status_code == 303


def test_failed_logins_are_limited_per_client_network(make_api: Callable[..., Api], clock: Clock) -> None:
    """One /24 spraying names (unknown ones too) is stopped; the next /24 is not."""
    api = make_api(peer="10.0.0.2", trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    for n in range(throttle.PER_NETWORK):
        assert login(api, f"guess{n}", "wrong", **{"x-forwarded-for": "203.0.113.5"}).status_code == 401
    assert login(api, "reader", "reader-pass", **{"x-forwarded-for": "203.0.113.200"}).status_code == 429
    assert login(api, "reader", "reader-pass", **{"x-forwarded-for": "2001:db8::1"}).status_code == 303
    for n in range(throttle.PER_NETWORK):  # IPv6: one /64 is one client
        login(api, f"guess{n}", "wrong", **{"x-forwarded-for": f"2001:db8::{n + 2:x}"})
    assert login(api, "reader", "reader-pass", **{"x-forwarded-for": "2001:db8::ffff"}).status_code == 429
    assert login(api, "reader", "reader-pass", **{"x-forwarded-for": "2001:db8:0:1::1"}).status_code == 303


def test_an_untrusted_peers_forwarded_header_does_not_spread_its_failures(make_api: Callable[..., Api]) -> None:
    """Its own address is the one counted, whatever X-Forwarded-For it sends."""
    direct = make_api(peer="192.0.2.1")
    for n in range(throttle.PER_NETWORK):
        login(direct, f"guess{n}", "wrong", **{"x-forwarded-for": f"198.18.{n}.1"})
    assert login(direct, "reader", "reader-pass", **{"x-forwarded-for": "198.18.200.1"}).status_code == 429


def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(make_api: Callable[..., Api]) -> None:
    behind = make_api(peer="10.0.0.2", trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    assert "Secure" in login(behind, **{"x-forwarded-proto": "https"}).headers["set-cookie"].split("; ")
    assert "Secure" not in login(behind, **{"x-forwarded-proto": "http"}).headers["set-cookie"].split("; ")
    forwarded = login(behind, **{"forwarded": "for=203.0.113.5;proto=https"})
    assert "Secure" in forwarded.headers["set-cookie"].split("; ")
    untrusted = make_api(peer="192.0.2.1")  # anyone may send the header: only a trusted proxy is believed
    assert "Secure" not in login(untrusted, **{"x-forwarded-proto": "https"}).headers["set-cookie"].split("; ")
