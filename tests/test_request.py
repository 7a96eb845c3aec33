"""The edge: every malformed request gets its documented 4xx, stores nothing, and the server keeps serving."""

from __future__ import annotations

import gzip
import zlib

import jsonschema_rs
import orjson
import pytest
from conftest import FIREFOX, event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector import request as edge

CASES = [
    # (name, body, content type, status, error)
    ("malformed json", b'{"site": ', "application/json", 400, "invalid_json"),
    ("non-object", b'"hello"', "application/json", 400, "invalid_body"),
    ("array of non-objects", b"[1, 2]", "application/json", 400, "invalid_event"),
    ("empty batch", b"[]", "application/json", 400, "empty_batch"),
    ("too many events", b"[" + b",".join([b'{"site":"test.example","type":"pageview","url":"https://test.example/",'
                                         b'"consent":{}}'] * 101) + b"]", "application/json", 413, "too_many_events"),
    ("oversized body", b'{"site":"' + b"a" * 70_000 + b'"}', "application/json", 413, "too_large"),
    ("wrong content type", b"{}", "application/xml", 415, "unsupported_media_type"),
    ("unknown event type", b'{"site":"test.example","type":"purchase","url":"https://test.example/","consent":{}}',
     "application/json", 400, "invalid_event"),
    ("missing site", b'{"type":"pageview","url":"https://test.example/","consent":{}}', "application/json", 400,
     "invalid_event"),
    ("wrong field type", b'{"site":"test.example","type":"click","kind":"heatmap","x":"left","url":'
     b'"https://test.example/","consent":{}}', "application/json", 400, "invalid_event"),
    ("unknown field", b'{"site":"test.example","type":"pageview","url":"https://test.example/","consent":{},'
     b'"ip":"1.2.3.4"}', "application/json", 400, "invalid_event"),
    ("javascript url", b'{"site":"test.example","type":"pageview","url":"javascript:alert(1)","consent":{}}',
     "text/plain", 400, "invalid_event"),
    ("invalid utf-8", b'{"site":"test.example\xff","type":"pageview"}', "application/json", 400, "invalid_json"),
    ("lone surrogate", b'{"site":"\\ud800","type":"pageview"}', "application/json", 400, "invalid_json"),
    ("nul byte", b'{"site":"test.example\\u0000","type":"pageview"}', "application/json", 400, "invalid_body"),
    ("missing consent", b'{"site":"test.example","type":"pageview","url":"https://test.example/"}',
     "application/json", 400, "invalid_event"),
]


@pytest.mark.parametrize(("name", "body", "content_type", "status", "error"), CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused_and_stores_nothing(api, name, body, content_type, status, error) -> None:
    response = api.send(body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["detail"]
    assert api.count() == 0 and api.count("dropped_daily") == 0
    assert api.send(event()).status_code == 202  # and the server keeps serving


def test_detail_names_the_field_without_echoing_the_value(api) -> None:
    response = api.send([event(), event(type="click", kind="heatmap", x=7.5)])
    assert response.status_code == 400
    assert response.json()["detail"] == "events[1].x: violates 'maximum'"
    response = api.send(event(secret_field="s3cr3t-value"))
    assert response.json()["detail"] == "events[0]: unknown field(s) secret_field"
    assert "s3cr3t" not in response.text


def test_timestamp_outside_window(api, clock) -> None:
    now_ms = int(clock.now * 1000)
    assert api.send(event(ts=now_ms - 3 * 86400 * 1000)).json()["detail"] == "events[0].ts: outside the accepted window"
    assert api.send(event(ts=now_ms + 3600 * 1000)).status_code == 400
    assert api.send(event(ts=now_ms + 60_000)).status_code == 202  # small skew: clamped to server time
    assert api.rows("SELECT toUnixTimestamp(ts) FROM analytics.events") == [(int(clock.now),)]


@pytest.mark.parametrize("form", ["object", "array", "envelope"])
def test_three_body_forms(api, form) -> None:
    body = {"object": event(), "array": [event(), event()], "envelope": {"events": [event()] * 3}}[form]
    expected = {"object": 1, "array": 2, "envelope": 3}[form]
    assert api.send(body).json() == {"accepted": expected, "dropped": {}}
    assert api.count() == expected


def test_text_plain_is_accepted_for_sendbeacon(api) -> None:
    assert api.send(event(), content_type="text/plain;charset=UTF-8").status_code == 202


def test_compressed_bodies(api) -> None:
    import orjson

    raw = orjson.dumps([event()] * 10)
    ok = api.client.post("/api/event", content=gzip.compress(raw), headers={
        "content-type": "application/json", "content-encoding": "gzip", "user-agent": FIREFOX})
    assert ok.status_code == 202 and ok.json()["accepted"] == 10
    bomb = zlib.compress(b"[" + b" " * (edge.MAX_BODY_BYTES * edge.MAX_INFLATE_RATIO + 10) + b"]")
    assert len(bomb) < edge.MAX_BODY_BYTES
    refused = api.client.post("/api/event", content=bomb, headers={
        "content-type": "application/json", "content-encoding": "deflate", "user-agent": FIREFOX})
    assert refused.status_code == 413
    assert api.count() == 10


def test_body_over_cap_streamed_without_content_length(api) -> None:
    def chunks():
        for _ in range(20):
            yield b" " * 4096

    response = api.client.post("/api/event", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_schema_is_compiled_once() -> None:
    validate = edge.load_validator(edge.SCHEMA_PATH)
    assert validate(event()) == []
    assert validate({"site": "x"})  # errors listed, no exception


# -- the per-type flat schemas accept exactly what the full schema accepts --

_SCHEMA = orjson.loads(edge.SCHEMA_PATH.read_bytes())
_FULL = jsonschema_rs.validator_for(_SCHEMA)
_FLAT = {kind: jsonschema_rs.validator_for(sub) for kind, sub in edge.flat_schemas(_SCHEMA).items()}
_FIELDS = sorted({*_SCHEMA["properties"], *(p for b in _SCHEMA["allOf"] for p in b["then"]["properties"]), "ip"})
# One valid event per type; the strategy below mutates them, so about half the cases are valid.
_VALID = {
    "pageview": {}, "session_end": {"engaged_ms": 10}, "engagement": {"engaged_ms": 5, "scroll": 40},
    "click": {"kind": "heatmap", "x": 0.5, "y": 0.2, "tag": "a"}, "custom": {"name": "signup", "props": {"k": 1}},
    "form": {"form": "f", "action": "focus", "field": "email"}, "error": {"message": "boom", "source": "cdn.example"},
    "vital": {"name": "LCP", "value": 1200}, "exposure": {"experiment": "e", "variant": "b"},
    "consent": {"action": "grant", "categories": ["analytics"], "policy_version": "3"},
}
_VALUES = st.sampled_from([
    "", "x", "test.example", "https://test.example/p", "heatmap", "focus", "grant", "LCP", "a" * 300,
    "0f8fad5b-d9cb-4980-b8c7-cc4b7a5b2c31", "abcdefghijklmnop", 0, 1, -1, 0.5, 2, 1.0, 86_400_001, True, False,
    None, [], ["analytics"], {}, {"analytics": True}, {"k": "v"}, {"k": [1]},
])


@st.composite
def _events(draw: st.DrawFn) -> dict[str, object]:
    kind = draw(st.sampled_from(sorted(_VALID)))
    instance: dict[str, object] = {"site": "test.example", "type": kind, "url": "https://test.example/",
                                   "consent": {}, **_VALID[kind]}
    for _ in range(draw(st.integers(0, 2))):
        field = draw(st.sampled_from(_FIELDS))
        if field != "type" and draw(st.booleans()):
            instance.pop(field, None)
        elif field != "type":
            instance[field] = draw(_VALUES)
    return instance


_EVENTS = _events()


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_EVENTS)
def test_flat_schema_of_each_type_agrees_with_the_full_schema(instance: dict[str, object]) -> None:
    assert _FLAT[str(instance["type"])].is_valid(instance) == _FULL.is_valid(instance)


def test_flat_schemas_refuse_a_schema_shape_they_do_not_understand() -> None:
    odd = {**_SCHEMA, "allOf": [*_SCHEMA["allOf"], {"if": {"properties": {"url": {"const": "x"}}}, "then": {}}]}
    with pytest.raises(ValueError, match="allOf branch"):
        edge.flat_schemas(odd)
