"""The edge: turn a request body into validated, typed events, or a ClientError. Validation happens here, once."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
import orjson

from .errors import ClientError, Kind
from .event import Event, RequestInfo
from .settings import SCHEMAS_DIR

MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 100
# A compressed body may expand to this many times the body cap before we stop inflating it.
MAX_INFLATE_RATIO = 5
CONTENT_TYPES = ("application/json", "text/plain")
SCHEMA_PATH = SCHEMAS_DIR / "event.schema.json"
# Fields the schema types "integer": JSON Schema counts 39.0 as one, the integer columns do not.
_INTEGERS = frozenset({"ts", "engaged_ms", "scroll", "cmp_id", "cmp_version", "tcf_policy_version"})
_COMMON = frozenset({"site", "type", "url", "referrer", "ts", "event_id", "consent", "vid", "sid", "props"})


def load_validator(schema_path: Path) -> Callable[[Any], list[Any]]:
    """Compile the event schema once; the returned callable lists the errors of one instance.

    The schema (the one source of truth, for docs and the tracker too) picks each type's fields with
    `allOf`/`if`/`then` and closes the object with `unevaluatedProperties`, which a validator must
    track annotations for. So a closed, flat schema is also derived per event type (the common
    fields plus that type's, `additionalProperties: false`): the same set of valid events, checked
    in less than half the time. An event it refuses, or of no known type, goes to the full schema,
    which names the error."""
    schema = orjson.loads(schema_path.read_bytes())
    full = jsonschema_rs.validator_for(schema)
    flat = {kind: jsonschema_rs.validator_for(sub) for kind, sub in flat_schemas(schema).items()}

    def errors(instance: Any) -> list[Any]:
        kind = instance.get("type") if isinstance(instance, dict) else None
        quick = flat.get(kind) if isinstance(kind, str) else None
        if quick is not None and quick.is_valid(instance):
            return []
        return [] if full.is_valid(instance) else list(full.iter_errors(instance))

    return errors


def flat_schemas(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{event type: a closed schema for events of that type}, derived from the event schema; raises
    if the schema takes a shape this derivation does not understand (so the two cannot drift)."""
    if schema.get("unevaluatedProperties") is not False or set(schema) - {
            "$schema", "$id", "title", "description", "type", "required", "properties", "allOf",
            "unevaluatedProperties"}:
        raise ValueError("event schema: unexpected top-level shape")
    out = {}
    for kind in schema["properties"]["type"]["enum"]:
        properties, required = dict(schema["properties"]), list(schema["required"])
        for branch in schema["allOf"]:
            if set(branch) != {"if", "then"} or set(branch["if"]) != {"properties"} or set(
                    branch["if"]["properties"]) != {"type"} or set(branch["then"]) - {"properties", "required"}:
                raise ValueError("event schema: an allOf branch is not `if type then fields`")
            test = branch["if"]["properties"]["type"]
            if kind == test.get("const") or kind in test.get("enum", ()):
                properties |= branch["then"].get("properties", {})
                required += branch["then"].get("required", [])
        out[kind] = {"$schema": schema["$schema"], "type": "object", "required": required,
                     "properties": properties | {"type": {"const": kind}}, "additionalProperties": False}
    return out


def check_content_type(content_type: str) -> None:
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in CONTENT_TYPES:
        raise ClientError(Kind.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                          "send application/json or text/plain")


def inflate(body: bytes, encoding: str) -> bytes:
    """Undo gzip/deflate Content-Encoding, refusing bombs beyond MAX_INFLATE_RATIO x the body cap."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise ClientError(Kind.UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding", "use gzip, deflate or none")
    limit = MAX_BODY_BYTES * MAX_INFLATE_RATIO
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise ClientError(Kind.INVALID, "invalid_encoding", f"body is not valid {encoding}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ClientError(Kind.TOO_LARGE, "too_large", f"decompressed body exceeds {limit} bytes")
    return out


def _where(index: int, path: list[Any]) -> str:
    return "".join([f"events[{index}]", *(f".{p}" if isinstance(p, str) else f"[{p}]" for p in path)])


def _schema_error(index: int, error: Any) -> ClientError:
    """Name the offending field and the rule it broke, without echoing the value back."""
    kind = type(error.kind).__name__
    path = list(error.instance_path)
    if kind == "UnevaluatedProperties":
        names = ", ".join(sorted(error.kind.unexpected))
        return ClientError(Kind.INVALID, "invalid_event", f"{_where(index, path)}: unknown field(s) {names}")
    if kind == "Required":
        return ClientError(Kind.INVALID, "invalid_event",
                           f"{_where(index, [*path, error.kind.property])}: required field is missing")
    rule = str(list(error.schema_path)[-1])
    return ClientError(Kind.INVALID, "invalid_event", f"{_where(index, path)}: violates '{rule}'")


def _items(doc: Any) -> list[Any]:
    if isinstance(doc, dict) and set(doc) == {"events"}:
        doc = doc["events"]
    elif isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise ClientError(Kind.INVALID, "invalid_body", "body must be an event object, an array of events "
                          "or {\"events\": [...]}")
    if not doc:
        raise ClientError(Kind.INVALID, "empty_batch", "the batch holds no events")
    if len(doc) > MAX_EVENTS:
        raise ClientError(Kind.TOO_LARGE, "too_many_events", f"at most {MAX_EVENTS} events per request")
    return doc


def decode(body: bytes) -> list[Any]:
    """Bytes to a non-empty list of at most MAX_EVENTS JSON values."""
    if b"\x00" in body or b"\\u0000" in body:
        raise ClientError(Kind.INVALID, "invalid_body", "NUL characters are not allowed")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ClientError(Kind.INVALID, "invalid_json", "body is not valid UTF-8 JSON") from None
    return _items(doc)


def to_event(raw: dict[str, Any], request: RequestInfo | None, ts_ms: int) -> Event:
    """A schema-valid object to an Event."""
    return Event(
        site=raw["site"], type=raw["type"], url=raw["url"], ts_ms=ts_ms,
        consent=raw["consent"], request=request, referrer=raw.get("referrer", ""),
        event_id=raw.get("event_id", ""), vid=raw.get("vid", ""), sid=raw.get("sid", ""),
        data={k: int(v) if k in _INTEGERS and isinstance(v, float) else v
              for k, v in raw.items() if k not in _COMMON} | {"props": raw.get("props") or {}},
    )


def _check_urls(index: int, item: dict[str, Any]) -> None:
    """The schema's URL pattern admits strings urlsplit cannot take apart (e.g. `http://]`): a 400, not a 500."""
    for name in ("url", "referrer"):
        value = item.get(name)
        if value:
            try:
                parts = urlsplit(value)
                if ":" in parts.netloc:
                    parts.port  # noqa: B018 (parsing the port is part of the check)
            except ValueError:
                raise ClientError(Kind.INVALID, "invalid_event", f"events[{index}].{name}: not a valid URL") from None


def build(items: list[Any], validate: Callable[[Any], list[Any]], request: RequestInfo | None,
          now_ms: int, window_ms: tuple[int, int]) -> list[Event]:
    """Validate every item and type it: all or nothing, one bad event rejects the request.

    The client timestamp must lie within `window_ms` (past, future) of server time and is clamped
    to server time, so a client clock running ahead cannot place events in the future.
    """
    events = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ClientError(Kind.INVALID, "invalid_event", f"events[{index}]: must be an object")
        errors = validate(item)
        if errors:
            raise _schema_error(index, errors[0])
        _check_urls(index, item)
        ts = int(item.get("ts", now_ms))
        if not now_ms - window_ms[0] <= ts <= now_ms + window_ms[1]:
            raise ClientError(Kind.INVALID, "invalid_event", f"events[{index}].ts: outside the accepted window")
        events.append(to_event(item, request, min(ts, now_ms)))
    return events
