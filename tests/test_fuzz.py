"""Fuzzing: schemathesis against the served OpenAPI document (the real app in-process, on the real store),
and hypothesis properties of the request parser. No input is a 5xx; no 4xx stores a row.

CI runs >= 1,000 cases of each; bench/fuzz.py runs 10,000 (FUZZ_EXAMPLES scales both)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import schemathesis
from conftest import Api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from collector import request as edge
from collector.errors import ClientError
from collector.event import Event
from collector.settings import SCHEMAS_DIR

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None
TOKEN = "fuzz-admin-token"
ADMIN_PREFIX = "/admin/"


class Ledger:
    """What the fuzzed requests were told was stored; compared with the store afterwards."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.accepted = 0
        self.cases = 0

    def accepted_metric(self) -> int:
        return self.api.collector.metrics.get("collector_events_accepted_total")


@pytest.fixture
def ledger(make_api: Callable[..., Api]) -> Iterator[Ledger]:
    api = make_api(admin_token=TOKEN)
    led = Ledger(api)
    yield led
    stored = api.count("events") + api.count("consent_receipts")
    assert stored == led.accepted, f"{stored} rows stored, {led.accepted} acknowledged over {led.cases} cases"


def operations(api: Api) -> list[Any]:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    return [result.ok() for result in loaded.get_all_operations()]


def test_api_never_5xx_and_no_4xx_stores(ledger: Ledger) -> None:
    """Every operation of the OpenAPI document, fuzzed with valid and invalid inputs; the ingest
    endpoint gets most cases (schemathesis' pytest plugin predates our pytest, so each operation's
    hypothesis strategy is driven here)."""
    ops = operations(ledger.api)
    assert len(ops) >= 14
    total = EXAMPLES or 1000
    for op in ops:
        ingest = op.path == "/api/event" and op.method.lower() == "post"
        for mode in schemathesis.GenerationMode:
            budget = max(20, total * 9 // 20 if ingest else total // 50)
            if mode is schemathesis.GenerationMode.NEGATIVE and not ingest:
                budget //= 2

            @settings(max_examples=budget, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(op.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                check_case(case, ledger)

            try:
                run()
            except (schemathesis.core.errors.UnsupportedSchema, Unsatisfiable):  # no invalid form of a bare GET
                assert mode is schemathesis.GenerationMode.NEGATIVE and not ingest
    print(f"schemathesis: {ledger.cases} cases over {len(ops)} operations, {ledger.accepted} events accepted")
    assert ledger.cases >= total


def retarget(body: Any) -> None:
    items = body.get("events", [body]) if isinstance(body, dict) else body if isinstance(body, list) else []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and "site" in item:
            item["site"] = "test.example"
            item.pop("ts", None)  # a row dated years ago would be expired by its TTL at the next merge
            if item.get("action") == "withdraw":  # a withdrawal erases earlier rows by design, which
                item["action"] = "grant"          # would blur the stored == acknowledged ledger


def check_case(case: Any, ledger: Ledger) -> None:
    if case.path.startswith(ADMIN_PREFIX):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
    elif case.path == "/api/event" and ledger.cases % 2 == 0:
        retarget(case.body)  # half the cases name a configured site, so the storing path is fuzzed too
    before = ledger.accepted_metric()
    response = case.call()
    ledger.cases += 1
    assert response.status_code < 500, (case.path, case.method, response.status_code, response.text[:300])
    gained = ledger.accepted_metric() - before
    if response.status_code >= 400:
        assert gained == 0, f"a {response.status_code} stored {gained} rows"
    elif case.path == "/api/event" and case.method.upper() == "POST":
        assert response.status_code == 202 and response.json()["accepted"] == gained
    ledger.accepted += gained


# -- hypothesis on the parser: decode/build never raise anything but ClientError, and what they
#    accept is exactly what the schema accepts --

VALIDATE = edge.load_validator(SCHEMAS_DIR / "event.schema.json")
NOW_MS = 1_750_000_000_000
WINDOW = (86_400_000, 300_000)
json_scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False)
                | st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=10), kids, max_size=4), max_leaves=12)
sites = st.sampled_from(["test.example", "x", "a" * 101, "tést", "", "a b"])
urls = st.sampled_from(["https://test.example/", "javascript:alert(1)", "data:x", "https://t.example/" + "a" * 2000,
                        "http://h/\x00", "https://ok.example/p?q=1"])
events = st.fixed_dictionaries(
    {"site": sites, "type": st.sampled_from(["pageview", "custom", "click", "nope"]), "url": urls},
    optional={"consent": st.dictionaries(st.sampled_from(["analytics", "ads", "X"]), json_scalars, max_size=3),
              "ts": st.integers(NOW_MS - 2 * WINDOW[0], NOW_MS + 2 * WINDOW[1]) | json_scalars,
              "name": st.text(max_size=3), "kind": st.sampled_from(["heatmap", ""]),
              "props": st.dictionaries(st.text(max_size=70), json_values, max_size=32),
              "referrer": urls, "extra": json_values})
bodies = (st.binary(max_size=300)
          | json_values.map(orjson.dumps)
          | st.lists(events, max_size=3).map(orjson.dumps)
          | events.map(orjson.dumps))
cases = EXAMPLES or 1000


@settings(max_examples=cases, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_parser_only_answers_with_client_errors(raw: bytes) -> None:
    try:
        items = edge.decode(raw)
        built = edge.build(items, VALIDATE, None, NOW_MS, WINDOW)
    except ClientError as exc:
        assert 400 <= exc.status < 500 and set(exc.body()) == {"error", "detail"}
        return
    assert 1 <= len(built) <= edge.MAX_EVENTS and all(isinstance(e, Event) for e in built)
    for item, ev in zip(items, built, strict=True):
        assert VALIDATE(item) == [] and ev.ts_ms <= NOW_MS and ev.site == item["site"]


@settings(max_examples=cases, deadline=None)
@given(st.lists(events, min_size=1, max_size=3))
def test_build_accepts_exactly_what_the_schema_and_window_accept(items: list[dict[str, Any]]) -> None:
    valid = all(VALIDATE(i) == [] and NOW_MS - WINDOW[0] <= i.get("ts", NOW_MS) <= NOW_MS + WINDOW[1]
                for i in items)
    try:
        edge.build(items, VALIDATE, None, NOW_MS, WINDOW)
        assert valid
    except ClientError as exc:
        assert not valid and exc.status == 400


def test_openapi_event_variants_accept_exactly_what_the_event_schema_accepts() -> None:
    import jsonschema_rs

    from collector.openapi import event_variants

    original = orjson.loads((SCHEMAS_DIR / "event.schema.json").read_bytes())
    variants = jsonschema_rs.validator_for(event_variants(original))
    strict = jsonschema_rs.validator_for(original)

    @settings(max_examples=cases, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(events)
    def same(item: dict[str, Any]) -> None:
        assert variants.is_valid(item) == strict.is_valid(item)

    same()
