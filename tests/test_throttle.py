"""The login throttle (collector/read/throttle.py) on its own: windows, what is counted, memory bounds and
the client address behind proxies. The dashboard's 429s are tested in test_dashboard.py."""

from __future__ import annotations

import ipaddress

from conftest import Clock

from collector.read.throttle import LoginThrottle, client_address, https_by_proxy, network


def _throttle(clock: Clock, **limits: int) -> LoginThrottle:
    return LoginThrottle(clock, lambda name: name in ("reader", "admin"), **limits)


def test_retry_after_counts_down_to_the_oldest_failure_leaving_the_window(clock: Clock) -> None:
    throttle = _throttle(clock, window_s=600, per_user=3, per_network=100)
    for _ in range(3):
        throttle.failed("reader", "net-a")
        clock.advance(10)
    assert throttle.retry_after("reader", "net-b") == 600 - 30
    clock.advance(600 - 30)
    assert throttle.retry_after("reader", "net-b") == 0
    assert throttle.retry_after("admin", "net-b") == 0


def test_unknown_names_count_per_network_only(clock: Clock) -> None:
    throttle = _throttle(clock, per_user=2, per_network=5)
    for n in range(4):
        throttle.failed(f"made-up-{n}", "net-a")
    assert throttle.retry_after("made-up-0", "net-b") == 0  # no per-user entry for a name that does not exist
    throttle.failed("made-up-9", "net-a")
    assert throttle.retry_after("reader", "net-a") > 0


def test_a_success_clears_the_users_count_not_the_networks(clock: Clock) -> None:
    throttle = _throttle(clock, per_user=2, per_network=3)
    throttle.failed("reader", "net-a")
    throttle.failed("reader", "net-a")
    throttle.succeeded("reader")
    assert throttle.retry_after("reader", "net-b") == 0
    throttle.failed("admin", "net-a")
    assert throttle.retry_after("admin", "net-a") > 0


def test_the_network_table_is_bounded(clock: Clock) -> None:
    throttle = _throttle(clock, per_network=1, max_networks=100)
    throttle.failed("x", "first")
    for n in range(1000):
        throttle.failed("x", f"net-{n}")
    assert len(throttle._networks) == 100
    assert throttle.retry_after("x", "net-999") > 0 and throttle.retry_after("x", "first") == 0


def test_networks_are_slash_24_and_slash_64() -> None:
    assert network("203.0.113.77") == "203.0.113.0/24"
    assert network("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert network("not an address") == "?"


def test_forwarded_addresses_and_proto_only_from_trusted_proxies() -> None:
    proxies = (ipaddress.ip_network("10.0.0.0/8"),)

    def trusted(address: str) -> bool:
        try:
            return any(ipaddress.ip_address(address) in net for net in proxies)
        except ValueError:
            return False

    chain = [("x-forwarded-for", "198.51.100.9, 203.0.113.5, 10.0.0.3")]
    assert client_address("10.0.0.2", chain, trusted) == "203.0.113.5"  # right-most not itself a proxy
    assert client_address("192.0.2.1", chain, trusted) == "192.0.2.1"
    assert https_by_proxy("10.0.0.2", [("x-forwarded-proto", "https")], trusted)
    assert not https_by_proxy("192.0.2.1", [("x-forwarded-proto", "https")], trusted)
    assert not https_by_proxy("10.0.0.2", [("x-forwarded-proto", "http")], trusted)
