"""The per-process connection registry: client networks, the descriptor-sized cap, bookkeeping that
returns to empty, and hit warnings that are rate-limited and never name a client."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import resource
from dataclasses import dataclass

import pytest
from conftest import Clock

from collector.connections import (
    HITS,
    Connections,
    EdgeLimits,
    Refused,
    connection_cap_from_fd_limit,
    network_of,
)
from collector.logs import JsonFormatter
from collector.metrics import Metrics
from collector.settings import SettingsError, from_env


def limits(**overrides: object) -> EdgeLimits:
    base: dict[str, object] = dict(max_header_bytes=16384, max_headers=100, max_url_bytes=8192,
                                   request_deadline_s=10.0, idle_timeout_s=5.0, max_connections=10,
                                   max_connections_per_network=2)
    return EdgeLimits(**(base | overrides))  # type: ignore[arg-type]


@dataclass(eq=False)
class Conn:
    deadline: float = 0.0

    def expire(self) -> None:
        pass


def test_client_networks_are_a_slash_24_or_a_slash_56() -> None:
    assert network_of("203.0.113.7") == network_of("203.0.113.200") != network_of("203.0.114.7")
    assert network_of("::ffff:203.0.113.9") == network_of("203.0.113.7")
    assert network_of("2001:db8:0:ff01::1") == network_of("2001:db8:0:ffaa:1:2:3:4") != network_of("2001:db8:0:fe00::1")
    assert network_of("fe80::1%eth0") == network_of("fe80::2")


def test_the_default_cap_leaves_a_quarter_of_the_descriptors() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_cap_from_fd_limit() == max(16, soft - max(256, soft // 4))
    assert connection_cap_from_fd_limit() < soft


def test_edge_limits_come_from_the_environment_and_fail_loudly() -> None:
    env = {"COLLECTOR_MAX_HEADER_BYTES": "8192", "COLLECTOR_MAX_HEADERS": "50", "COLLECTOR_MAX_URL_BYTES": "4096",
           "COLLECTOR_REQUEST_DEADLINE_MS": "2500", "COLLECTOR_IDLE_TIMEOUT_MS": "750",
           "COLLECTOR_MAX_CONNECTIONS_PER_NETWORK": "32", "COLLECTOR_TRUSTED_PROXIES": "10.0.0.1"}
    got = EdgeLimits.from_settings(from_env(env))
    assert (got.max_header_bytes, got.max_headers, got.max_url_bytes) == (8192, 50, 4096)
    assert (got.request_deadline_s, got.idle_timeout_s, got.max_connections_per_network) == (2.5, 0.75, 32)
    assert got.max_connections == connection_cap_from_fd_limit()  # 0, the default: from the descriptor limit
    assert got.trusted_proxies == (ipaddress.ip_network("10.0.0.1/32"),)
    assert EdgeLimits.from_settings(from_env({"COLLECTOR_MAX_CONNECTIONS": "500"})).max_connections == 500
    with pytest.raises(SettingsError, match="COLLECTOR_REQUEST_DEADLINE_MS"):
        from_env({"COLLECTOR_REQUEST_DEADLINE_MS": "10s"})
    with pytest.raises(SettingsError, match="COLLECTOR_MAX_HEADER_BYTES"):
        from_env({"COLLECTOR_MAX_HEADER_BYTES": "100"})


def test_caps_and_bookkeeping_return_to_empty() -> None:
    metrics = Metrics()
    conns = Connections(limits(max_connections=4, trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),)), metrics)
    loop = asyncio.new_event_loop()
    try:
        a, b = Conn(), Conn()
        keys = [conns.admit(a, "198.51.100.1", loop), conns.admit(b, "198.51.100.2", loop)]
        with pytest.raises(Refused) as refused:
            conns.admit(Conn(), "198.51.100.3", loop)
        assert refused.value.kind == "network_connections"
        proxy = Conn()
        assert conns.admit(proxy, "10.1.2.3", loop) is None  # a trusted proxy: no per-network count
        fourth = Conn()
        conns.admit(fourth, None, loop)  # a Unix socket peer
        with pytest.raises(Refused) as refused:
            conns.admit(Conn(), "192.0.2.1", loop)
        assert refused.value.kind == "connections"
        for conn, key in [(a, keys[0]), (b, keys[1]), (proxy, None), (fourth, None)]:
            conns.release(conn, key)
        assert conns.open == set() and conns.per_network == {}
    finally:
        loop.close()


def test_hits_are_counted_and_warned_at_most_once_a_minute_without_an_address(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(now=1000.0)
    metrics = Metrics()
    conns = Connections(limits(), metrics, clock=clock)
    with caplog.at_level(logging.WARNING, logger="collector.edge"):
        for _ in range(3):
            conns.hit("header_bytes")
        conns.hit("idle_timeout")  # ordinary for browsers: counted, never warned
        clock.advance(61)
        conns.hit("header_bytes")
    assert metrics.get(HITS, limit="header_bytes") == 4 and metrics.get(HITS, limit="idle_timeout") == 1
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert [(r.limit, r.hits) for r in caplog.records] == [("header_bytes", 1), ("header_bytes", 3)]  # type: ignore[attr-defined]
    assert all("198.51" not in line and "127.0" not in line for line in lines)
