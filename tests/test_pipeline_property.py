"""Property: for any event the contract admits, from any client address and user agent, nothing the
pipeline hands to storage (the rows, and the spool record written from them) contains the address or the
user agent in any form: text, expanded, packed in either byte order, decimal, hex, v4-mapped IPv6,
reversed (as in reverse DNS), or any 12-character piece of the user agent's own part; nor an integer
column equal to the address. Forms the event itself carries as its own data (a client may send any text
in a URL) are not the network's and are left out.

Events come from the contract (tests/contract.py); addresses and user agents from hypothesis; the context
is the real one of an app on the real store, so geolocation, the UA parser and salts all run.
"""

from __future__ import annotations

import ipaddress
import string
from collections.abc import Callable
from typing import Any

import pytest
from canaries import ip_forms
from conftest import FIREFOX, IPHONE, LONDON_IP, Api
from contract import valid_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector import pipeline
from collector import request as edge
from collector.errors import ClientError
from collector.event import RequestInfo
from collector.row import COLUMNS
from collector.writer import encode

SITES = st.sampled_from(["test.example", "country.example", "strict.example", "signals.example", "nobody.example"])
V4 = st.integers(0x10000001, 0xDFFFFFFF).map(lambda n: str(ipaddress.IPv4Address(n)))
ADDRESSES = st.one_of(V4, V4.map(lambda ip: f"::ffff:{ip}"),  # what a dual-stack socket reports for v4
                      st.integers(1 << 125, (1 << 128) - 1).map(lambda n: str(ipaddress.IPv6Address(n))))
AGENTS = st.tuples(st.sampled_from([FIREFOX, IPHONE, "Mozilla/5.0", ""]),
                   st.text(string.ascii_letters + string.digits, min_size=16, max_size=24)).map(" ".join)
CASES = 300


def forms(ip_text: str, ua: str) -> dict[bytes, str]:
    """Every form of the address and the user agent to look for."""
    ip = ipaddress.ip_address(ip_text)
    v4 = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else None
    out = ip_forms(str(ip)) | (ip_forms(str(v4)) if v4 else {})
    for address in filter(None, (ip, v4)):
        out[address.reverse_pointer.encode()] = f"{address} reversed"
        out[address.reverse_pointer.rsplit(".", 2)[0].encode()] = f"{address} reversed, no suffix"
    own = ua.rsplit(" ", 1)[-1]  # the random part: nothing in a parser's output can contain it by chance
    out[ua.encode()] = "the user agent"
    # Pieces of it, where they are random: hypothesis also draws parts such as "0000000000000000", whose pieces
    # a stored id or the spool's framing can hold by chance.
    out |= {own[i:i + 12].encode(): f"user agent piece {own[i:i + 12]}" for i in range(len(own) - 11)
            if len(set(own[i:i + 12])) >= 6}
    return {needle: what for needle, what in out.items() if len(needle) >= 4}


def values(obj: Any) -> tuple[list[bytes], set[int]]:
    """The bytes of every string and every integer inside a row or an event."""
    texts: list[bytes] = []
    ints: set[int] = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts.append(item.encode("utf-8", "surrogatepass"))
            texts.append(item.encode("latin-1", "replace"))  # bytes smuggled as one char per byte
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            ints.add(item)
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple):
            stack += list(item)
    return texts, ints


def integers_of(ip_text: str) -> set[int]:
    ip = ipaddress.ip_address(ip_text)
    n = int(ip)
    out = {n, n >> 64, n & ((1 << 64) - 1)} if ip.version == 6 else {n}
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        out.add(int(ip.ipv4_mapped))
    return out - {0}


def leaks(item: dict[str, Any], ip: str, ua: str, stored: list[Any], spooled: bytes) -> list[str]:
    sent_texts, sent_ints = values(item)
    out_texts, out_ints = values(stored)
    found = []
    for needle, what in forms(ip, ua).items():
        if any(needle in t for t in sent_texts):
            continue  # the client sent it as data
        if any(needle in t for t in out_texts) or needle in spooled:
            found.append(what)
    found += [f"integer {n} is the address" for n in (integers_of(ip) & out_ints) - sent_ints]
    return found


def test_no_form_of_the_address_or_user_agent_leaves_the_pipeline(api: Api) -> None:
    ctx, validate, now_ms = api.collector.ctx, api.collector.validate, int(api.collector.clock() * 1000)
    outcomes = {"stored": 0, "dropped": 0, "refused": 0}

    # Contract events cost ~25 ms each to draw on a busy machine: only hypothesis' too_slow check is off.
    @settings(max_examples=CASES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(valid_events(SITES), ADDRESSES, ADDRESSES, AGENTS, st.booleans(), st.booleans())
    def check(item: dict[str, Any], ip: str, forwarded: str, ua: str, gpc: bool, dnt: bool) -> None:
        item.pop("ts", None)  # the contract allows any time; the window is the edge's business
        request = RequestInfo(peer=ip, forwarded_for=(forwarded,), user_agent=ua, gpc=gpc, dnt=dnt)
        try:
            events = edge.build([item], validate, request, now_ms, (86_400_000, 300_000))
        except ClientError:
            outcomes["refused"] += 1  # a URL the contract admits and urlsplit does not
            return
        rows, dropped = pipeline.run(events, ctx)
        outcomes["stored" if rows else "dropped"] += 1
        spooled = encode(rows, dropped.items(), "2026-01-01", lambda site: 30)[0]
        assert leaks(item, ip, ua, rows, spooled) == [], (item, ip, ua)
        assert leaks(item, forwarded, ua, rows, spooled) == [], "an untrusted forwarded address was kept"

    check()
    assert outcomes["stored"] >= CASES // 3 and outcomes["dropped"] > 0, outcomes


PROXIES = st.integers(0x0A000002, 0x0AFFFFFE).map(lambda n: str(ipaddress.IPv4Address(n)))  # 10.0.0.0/8


def test_behind_a_trusted_proxy_the_forwarded_client_is_used_and_never_kept(make_api: Callable[..., Api]) -> None:
    """The X-Forwarded-For path: the peer is a trusted proxy, the chain may hold more trusted hops after the
    client and whatever the client itself wrote before it; the client's address — the one geolocated and
    hashed — leaves no trace either."""
    api = make_api(trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    ctx, validate, now_ms = api.collector.ctx, api.collector.validate, int(api.collector.clock() * 1000)
    stored = []

    @settings(max_examples=CASES // 5, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(valid_events(SITES), ADDRESSES, st.lists(PROXIES, max_size=2), AGENTS, st.lists(ADDRESSES, max_size=1))
    def check(item: dict[str, Any], client: str, hops: list[str], ua: str, spoofed: list[str]) -> None:
        item.pop("ts", None)
        request = RequestInfo(peer="10.0.0.1", forwarded_for=(*spoofed, client, *hops), user_agent=ua, gpc=False,
                              dnt=False)
        try:
            events = edge.build([item], validate, request, now_ms, (86_400_000, 300_000))
        except ClientError:
            return
        assert pipeline.client_ip(events[0], ctx).ip == client  # the right-most untrusted hop
        rows, dropped = pipeline.run(events, ctx)
        stored.append(bool(rows))
        spooled = encode(rows, dropped.items(), "2026-01-01", lambda site: 30)[0]
        assert leaks(item, client, ua, rows, spooled) == [], (item, client, ua)

    check()
    assert sum(stored) >= CASES // 20, stored
    # The forwarded address is the one geolocated: a London client behind two proxies is stored as GB.
    item = {"site": "test.example", "type": "pageview", "url": "https://test.example/", "consent": {}}
    request = RequestInfo(peer="10.0.0.1", forwarded_for=(LONDON_IP, "10.0.0.2"), user_agent=FIREFOX, gpc=False,
                          dnt=False)
    rows, _ = pipeline.run(edge.build([item], validate, request, now_ms, (86_400_000, 300_000)), ctx)
    assert rows[0][1][COLUMNS.index("country")] == "GB"


@pytest.mark.parametrize(("leak", "found"), [
    (lambda ip, ua: [ip], "as text"), (lambda ip, ua: [int(ipaddress.ip_address(ip))], "integer"),
    (lambda ip, ua: [ipaddress.ip_address(ip).packed.decode("latin-1")], "packed"),
    (lambda ip, ua: [ipaddress.ip_address(ip).reverse_pointer], "reversed"),
    (lambda ip, ua: [{"ua": ua.rsplit(" ", 1)[-1][2:14]}], "user agent piece"),
    (lambda ip, ua: [f"::ffff:{ip}"], "v4-mapped")])
def test_the_leak_check_can_fail(leak: Any, found: str) -> None:
    """A row that kept the address or the agent in one form is caught."""
    ip, ua = "203.0.113.77", f"{FIREFOX} Zq81vT5mXw02LpRaY7"
    row = [("analytics.events", ["test.example", 7, *leak(ip, ua)])]
    item = {"site": "test.example", "type": "pageview", "url": "https://test.example/", "consent": {}}
    assert any(found in what for what in leaks(item, ip, ua, row, b""))
    assert leaks(item | {"url": f"https://test.example/{ip}"}, ip, ua, [("t", [ip])], b"") == []  # sent as data
