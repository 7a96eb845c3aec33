"""Dashboard sessions (collector/read/session.py): signed, expiring, revocable, bounded."""

from __future__ import annotations

from conftest import Clock

from collector.read.session import Sessions, cookie_header
from collector.read.users import Role, User

READER = User("reader", Role.READ, ("a.example",))


def test_a_cookie_names_its_session_until_it_expires(clock: Clock) -> None:
    sessions = Sessions(clock, ttl_s=60)
    cookie, session = sessions.issue(READER)
    assert sessions.verify(cookie) == session and session.may_read("a.example") and not session.may_read("b")
    clock.advance(59)
    assert sessions.verify(cookie) == session
    clock.advance(1)
    assert sessions.verify(cookie) is None


def test_revoking_ends_the_session_and_only_that_one(clock: Clock) -> None:
    sessions = Sessions(clock)
    first, _ = sessions.issue(READER)
    second, _ = sessions.issue(READER)
    assert sessions.revoke(first) and not sessions.revoke(first)
    assert sessions.verify(first) is None and sessions.verify(second) is not None


def test_a_forged_or_foreign_cookie_is_refused(clock: Clock) -> None:
    sessions, other = Sessions(clock), Sessions(clock)
    cookie, _ = sessions.issue(READER)
    assert other.verify(cookie) is None
    version, payload, mac = cookie.split(".")
    for bad in (f"{version}.{payload}x.{mac}", f"v2.{payload}.{mac}", f"{version}.{payload}.", "", None, "a.b.c",
                f"{version}.!!!.{mac}"):
        assert sessions.verify(bad) is None, bad


def test_the_csrf_token_belongs_to_one_session(clock: Clock) -> None:
    sessions = Sessions(clock)
    _, first = sessions.issue(READER)
    _, second = sessions.issue(READER)
    token = sessions.csrf_token(first)
    assert sessions.csrf_ok(first, token) and not sessions.csrf_ok(second, token)
    assert not sessions.csrf_ok(first, "") and not sessions.csrf_ok(first, "é")


def test_live_sessions_are_bounded(clock: Clock) -> None:
    sessions = Sessions(clock, max_sessions=3)
    cookies = [sessions.issue(READER)[0] for _ in range(5)]
    assert len(sessions) == 3
    assert [sessions.verify(c) is not None for c in cookies] == [False, False, True, True, True]


def test_the_cookie_header_is_hardened() -> None:
    assert cookie_header("v", secure=False, max_age=10) == (
        "collector_session=v; Path=/dashboard; Max-Age=10; HttpOnly; SameSite=Strict")
    assert cookie_header("v", secure=True, max_age=10).endswith("; Secure")
