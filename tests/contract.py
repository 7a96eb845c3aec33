"""Hypothesis strategies for events, read straight from schemas/event.schema.json (the contract), and the
reference validator for it: jsonschema-rs on the file as written, not the collector's own derived
per-type schemas (collector.request.load_validator), so the code is never checked against itself.

`valid_events()` draws events the contract accepts: every type, each with its required fields and any of
its optional ones, each value drawn from its rule (pattern, enum, bounds, lengths). It covers the subset
of JSON Schema the contract uses and fails loudly on a keyword it does not know, so a new rule in the
schema cannot be silently ignored here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
from hypothesis import strategies as st

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "event.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
REFERENCE = jsonschema_rs.validator_for(SCHEMA)
_ANNOTATIONS = {"description", "title", "$schema", "$id", "$comment", "examples", "default"}
_KNOWN = _ANNOTATIONS | {"type", "enum", "const", "properties", "required", "additionalProperties",
                         "unevaluatedProperties", "propertyNames", "maxProperties", "minLength", "maxLength",
                         "pattern", "minimum", "maximum", "items", "maxItems", "uniqueItems", "anyOf", "allOf"}


def from_rule(rule: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that satisfy one property's rule."""
    unknown = set(rule) - _KNOWN
    assert not unknown, f"the contract uses {unknown}: teach tests/contract.py to generate it"
    if "const" in rule:
        return st.just(rule["const"])
    if "enum" in rule:
        return st.sampled_from(rule["enum"])
    if "anyOf" in rule:
        return st.one_of([from_rule(r) for r in rule["anyOf"]])
    kind = rule.get("type")
    if kind == "string":
        # Lengths stop at 40: generating 2,000-character strings costs more than it finds; the limits
        # themselves are tested at the edge (tests/test_request.py).
        low, high = rule.get("minLength", 0), min(rule.get("maxLength", 40), 40)
        if "pattern" in rule:
            pattern = rule["pattern"]
            if pattern.endswith("]+$"):  # an open-ended tail: bounded like any other string
                pattern = pattern[:-2] + f"{{1,{high}}}$"
            limit = rule.get("maxLength", 40)
            return st.from_regex(pattern, fullmatch=True).filter(lambda s: low <= len(s) <= limit)
        return st.text(min_size=low, max_size=high)
    if kind == "integer":
        return st.integers(rule.get("minimum", -(2**53)), rule.get("maximum", 2**53))
    if kind == "number":
        return st.floats(rule.get("minimum", -1e12), rule.get("maximum", 1e12), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(from_rule(rule["items"]), max_size=rule.get("maxItems", 5),
                        unique=rule.get("uniqueItems", False))
    if kind == "object":
        return _object(rule)
    raise AssertionError(f"no generator for {rule}")


def _object(rule: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    fixed = {k: from_rule(v) for k, v in rule.get("properties", {}).items()}
    names = rule.get("propertyNames", {})
    extra = rule.get("additionalProperties")
    size = min(rule.get("maxProperties", 4), 4)
    if isinstance(extra, dict):
        keys = from_rule({"type": "string", **names}).filter(lambda k: k not in fixed)
        more = st.dictionaries(keys, from_rule(extra), max_size=max(0, size - len(fixed)))
        return st.tuples(st.fixed_dictionaries({}, optional=fixed), more).map(lambda p: {**p[1], **p[0]})
    return st.fixed_dictionaries({k: s for k, s in fixed.items() if k in rule.get("required", ())},
                                 optional={k: s for k, s in fixed.items() if k not in rule.get("required", ())})


def _branch(event_type: str) -> dict[str, Any]:
    """The `then` of every `if type is ...` branch of the contract that applies to this type."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for branch in SCHEMA.get("allOf", []):
        condition = branch["if"]["properties"]["type"]
        if condition.get("const") == event_type or event_type in condition.get("enum", ()):
            properties |= branch["then"].get("properties", {})
            required += branch["then"].get("required", [])
    return {"properties": properties, "required": required}


def valid_events(sites: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Events the contract accepts; `sites` replaces the site field (e.g. with configured sites)."""
    common = dict(SCHEMA["properties"])
    if sites is not None:
        common.pop("site")

    def of_type(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
        branch = _branch(event_type)
        required = set(SCHEMA["required"]) | set(branch["required"])
        rules = {**common, **branch["properties"]}
        rules["type"] = {"const": event_type}
        strategies = {k: from_rule(v) for k, v in rules.items()}
        built = st.fixed_dictionaries({k: s for k, s in strategies.items() if k in required},
                                      optional={k: s for k, s in strategies.items() if k not in required})
        return built if sites is None else st.tuples(built, sites).map(lambda p: {**p[0], "site": p[1]})

    return st.sampled_from(SCHEMA["properties"]["type"]["enum"]).flatmap(of_type)


def broken(event: dict[str, Any], how: int) -> dict[str, Any]:
    """One way to make a valid event invalid: a required field missing, an unknown field, a wrong type."""
    out = dict(event)
    if how == 0:
        out.pop(sorted(SCHEMA["required"])[len(out) % len(SCHEMA["required"])])
    elif how == 1:
        out["not_in_the_contract"] = 1
    else:
        out["url"] = 12345
    return out
