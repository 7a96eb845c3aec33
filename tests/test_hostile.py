"""Hostile input: every class gets its fixed status and error, stores nothing, and is counted in
collector_requests_rejected_total{error=...} (an unknown site is a counted drop, by design a 202)."""

from __future__ import annotations

import gzip
import socket
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from conftest import Api, event, serve

CAP = 64 * 1024
JSON = {"content-type": "application/json"}


def body(doc: Any) -> bytes:
    return orjson.dumps(doc)


def bomb(encoding: str) -> bytes:
    """A small compressed body that inflates past 5x the body cap."""
    raw = b"[" + b" " * (6 * CAP) + b"]"
    return gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)


def chunked(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), 8192):
        yield data[i:i + 8192]


# (case, body, extra headers, status, error)
CASES: list[tuple[str, Any, dict[str, str], int, str]] = [
    ("non-json", b"{nope", JSON, 400, "invalid_json"),
    ("non-object scalar", b"42", JSON, 400, "invalid_body"),
    ("non-object item", body([1]), JSON, 400, "invalid_event"),
    ("empty batch", b"[]", JSON, 400, "empty_batch"),
    ("empty events wrapper", body({"events": []}), JSON, 400, "empty_batch"),
    ("over 100 events", body([event()] * 101), JSON, 413, "too_many_events"),
    ("unknown field", body(event(color="red")), JSON, 400, "invalid_event"),
    ("empty event name", body(event(type="custom", name="")), JSON, 400, "invalid_event"),
    ("timestamp far past", body(event(ts=1)), JSON, 400, "invalid_event"),
    ("timestamp far future", body(event(ts=32503680000000)), JSON, 400, "invalid_event"),
    ("javascript: url", body(event(url="javascript:alert(1)//")), JSON, 400, "invalid_event"),
    ("data: url", body(event(url="data:text/html,<script>x</script>")), JSON, 400, "invalid_event"),
    ("data: referrer", body(event(referrer="data:text/html,hi")), JSON, 400, "invalid_event"),
    ("path over 2000", body(event(url="https://test.example/" + "a" * 2000)), JSON, 400, "invalid_event"),
    ("referrer over 2000", body(event(referrer="https://r.example/" + "a" * 2000)), JSON, 400, "invalid_event"),
    ("unparseable url", body(event(url="http://]")), JSON, 400, "invalid_event"),
    ("url with a bad port", body(event(url="https://test.example:99999/")), JSON, 400, "invalid_event"),
    ("unparseable referrer", body(event(referrer="http://[::1/")), JSON, 400, "invalid_event"),
    ("nested props", body(event(props={"a": {"b": 1}})), JSON, 400, "invalid_event"),
    ("props list value", body(event(props={"a": [1]})), JSON, 400, "invalid_event"),
    ("over 30 props", body(event(props={f"k{i}": i for i in range(31)})), JSON, 400, "invalid_event"),
    ("invalid utf-8", b'{"site": "test.example\xff\xfe"}', JSON, 400, "invalid_json"),
    ("raw surrogate bytes", b'[{"site": "\xed\xa0\x80"}]', JSON, 400, "invalid_json"),
    ("escaped lone surrogate", body(event()).replace(b'"/"', b'"/\\ud800"').replace(
        b"https://test.example/", b"https://test.example/\\ud800"), JSON, 400, "invalid_json"),
    ("raw NUL", body(event()).replace(b"example/", b"example/\x00"), JSON, 400, "invalid_body"),
    ("escaped NUL", body(event()).replace(b"example/", b"example/\\u0000"), JSON, 400, "invalid_body"),
    ("missing consent", body({k: v for k, v in event().items() if k != "consent"}), JSON, 400, "invalid_event"),
    ("malformed consent", body(event(consent={"analytics": "yes"})), JSON, 400, "invalid_event"),
    ("consent not an object", body(event(consent=[True])), JSON, 400, "invalid_event"),
    ("over cap by content-length", b"[" + b" " * CAP + b"]", JSON, 413, "too_large"),
    ("over cap chunked", "chunked", JSON, 413, "too_large"),
    ("gzip bomb", bomb("gzip"), {**JSON, "content-encoding": "gzip"}, 413, "too_large"),
    ("deflate bomb", bomb("deflate"), {**JSON, "content-encoding": "deflate"}, 413, "too_large"),
    ("broken gzip", b"\x1f\x8bnot gzip", {**JSON, "content-encoding": "gzip"}, 400, "invalid_encoding"),
    ("unknown encoding", body(event()), {**JSON, "content-encoding": "br"}, 415, "unsupported_encoding"),
    ("wrong content type", body(event()), {"content-type": "application/x-www-form-urlencoded"}, 415,
     "unsupported_media_type"),
    ("no content type", body(event()), {"content-type": ""}, 415, "unsupported_media_type"),
    ("origin outside allow-list", body(event()), {**JSON, "origin": "https://evil.example"}, 403,
     "origin_not_allowed"),
    ("referer outside allow-list", body(event()), {**JSON, "referer": "https://evil.example/x"}, 403,
     "origin_not_allowed"),
    ("admin credential", body(event()), {**JSON, "authorization": "Bearer admin-secret"}, 403,
     "credential_not_allowed"),
    ("wrong credential", body(event()), {**JSON, "authorization": "Bearer guess"}, 403, "credential_not_allowed"),
    ("over-long site id", body(event(site="a" * 101)), JSON, 400, "invalid_event"),
    ("non-ascii site id", body(event(site="tést.example")), JSON, 400, "invalid_event"),
    ("site id with spaces", body(event(site="test example")), JSON, 400, "invalid_event"),
]


def stored(api: Api) -> int:
    return sum(api.count(t) for t in ("events", "consent_receipts", "dropped_daily"))


@pytest.mark.parametrize(("case", "data", "headers", "status", "error"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_refused_stores_nothing_and_is_counted(
        make_api: Callable[..., Api], case: str, data: Any, headers: dict[str, str], status: int, error: str) -> None:
    api = make_api(admin_token="admin-secret")
    content = chunked(b"[" + b" " * (2 * CAP) + b"]") if data == "chunked" else data
    r = api.client.post("/api/event", content=content, headers=headers)
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert set(r.json()) == {"error", "detail"}
    assert stored(api) == 0
    assert api.collector.metrics.get("collector_requests_rejected_total", error=error) == 1


def test_unknown_site_is_a_counted_drop_with_no_event_stored(api: Api) -> None:
    r = api.send(event(site="nobody.example"))
    assert r.status_code == 202 and r.json() == {"accepted": 0, "dropped": {"unknown_site": 1}}
    assert api.count("events") == 0 and api.count("consent_receipts") == 0
    # counted, without the invented site id: the per-day counter row names no site
    assert api.rows("SELECT site, reason, sum(events) FROM analytics.dropped_daily GROUP BY site, reason") == [
        ("", "unknown_site", 1)]
    assert api.collector.metrics.get("collector_events_dropped_total", reason="unknown_site") == 1


def test_a_trickling_body_is_cut_off_at_the_read_timeout(make_api: Callable[..., Api]) -> None:
    api = make_api(body_read_timeout_ms=200)
    with serve(api.client.app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(b"POST /api/event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n[{\"si")  # and then nothing more
            answer = sock.recv(4096)  # the server gives up on the rest; no sleep on our side
    assert answer.startswith(b"HTTP/1.1 400") and b'"error":"body_timeout"' in answer
    assert stored(api) == 0
    assert api.collector.metrics.get("collector_requests_rejected_total", error="body_timeout") == 1


def test_pixel_refuses_credentials_and_stores_nothing(make_api: Callable[..., Api]) -> None:
    api = make_api(admin_token="admin-secret")
    r = api.client.get("/api/event.gif?site=test.example&url=https://test.example/",
                       headers={"authorization": "Bearer admin-secret"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    assert stored(api) == 0
    assert api.collector.metrics.get("collector_requests_rejected_total", error="credential_not_allowed") == 1


def test_integral_floats_in_integer_fields_are_stored_as_integers(make_api: Callable[..., Api]) -> None:
    """JSON Schema counts 39.0 as an integer; the columns do not (found by schemathesis: such a row
    once blocked the writer)."""
    api = make_api()
    now_ms = float(int(api.collector.clock()) * 1000)
    r = api.send(event(type="session_end", engaged_ms=2461.0, scroll=39.0, ts=now_ms))
    assert r.status_code == 202
    assert api.rows("SELECT engaged_ms, scroll_pct FROM analytics.events") == [(2461, 39)]
