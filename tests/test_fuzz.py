"""Fuzzing: schemathesis against the served OpenAPI document (the real app in-process, on the real store),
and hypothesis properties of the request parser. No input is a 5xx; no 4xx stores a row.

CI runs >= 1,000 API cases and 500-1,000 of each parser property (events drawn from the contract cost
more to generate than junk); bench/fuzz.py runs 10,000 (FUZZ_EXAMPLES scales them)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import schemathesis
from conftest import FIREFOX, Api
from contract import REFERENCE, SCHEMA, broken, valid_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable

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
        self.refused = 0  # 4xx answers: "no 4xx stores" proves something only if there were some

    def accepted_metric(self) -> int:
        return self.api.collector.metrics.get("collector_events_accepted_total")


@pytest.fixture
def ledger(make_api: Callable[..., Api]) -> Iterator[Ledger]:
    api = make_api(admin_token=TOKEN)
    led = Ledger(api)
    yield led
    stored = api.count("events") + api.count("consent_receipts")
    # A repeated event_id (hypothesis does repeat values) is acknowledged and, by design, stored once.
    repeats = api.collector.metrics.get("collector_events_dropped_total", reason="duplicate")
    assert stored == led.accepted - repeats, f"{stored} rows stored, {led.accepted} acknowledged, {repeats} repeats"
    assert led.accepted > 0 and led.refused > 0, "the fuzzing never stored or never refused: it proved nothing"


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

            # Each case is a real request on the real store: slower than hypothesis expects of a test.
            @settings(max_examples=budget, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                      database=None)
            @given(op.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                check_case(case, ledger)

            try:
                run()
            except (schemathesis.core.errors.UnsupportedSchema, Unsatisfiable, FailedHealthCheck):
                # No invalid form of a bare GET, nor of a form body whose fields are all free text (the
                # dashboard's login): hypothesis finds nothing to generate, which proves nothing either way.
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


def call(case: Any, ledger: Ledger) -> Any:
    """The case's request; ingest cases from a browser: schemathesis' in-process client always sends
    its own user agent, which is (rightly) dropped as a bot and would store nothing."""
    if case.path != "/api/event":
        return case.call()
    kw = case.as_transport_kwargs(base_url="http://testserver", headers={"User-Agent": FIREFOX})
    data = kw.get("data")
    body = ({"json": kw["json"]} if "json" in kw else
            {"content": data} if isinstance(data, bytes | str) else {"data": data})
    return ledger.api.client.request(kw["method"], kw["url"], headers=kw["headers"], params=kw.get("params"), **body)


def check_case(case: Any, ledger: Ledger) -> None:
    if case.path.startswith(ADMIN_PREFIX):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
    elif case.path == "/api/event" and ledger.cases % 2 == 0:
        retarget(case.body)  # half the cases name a configured site, so the storing path is fuzzed too
    before = ledger.accepted_metric()
    response = call(case, ledger)
    ledger.cases += 1
    assert response.status_code < 500, (case.path, case.method, response.status_code, response.text[:300])
    gained = ledger.accepted_metric() - before
    if response.status_code >= 400:
        assert gained == 0, f"a {response.status_code} stored {gained} rows"
        ledger.refused += 1
    elif case.path == "/api/event" and case.method.upper() == "POST":
        assert response.status_code == 202 and response.json()["accepted"] == gained
    ledger.accepted += gained


# -- hypothesis on the parser: decode/build never raise anything but ClientError, and what they
#    accept is exactly what the contract accepts, by a reference validator read straight from the schema
#    file (tests/contract.py), not the code's own derived validator --

VALIDATE = edge.load_validator(SCHEMAS_DIR / "event.schema.json")  # what the code runs, handed to build()
NOW_MS = 1_750_000_000_000
WINDOW = (86_400_000, 300_000)
json_scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False)
                | st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=10), kids, max_size=4), max_leaves=12)
sites = st.sampled_from(["test.example", "x", "a" * 101, "tést", "", "a b"])
urls = st.sampled_from(["https://test.example/", "javascript:alert(1)", "data:x", "https://t.example/" + "a" * 2000,
                        "http://h/\x00", "https://ok.example/p?q=1"])
junk_events = st.fixed_dictionaries(
    {"site": sites, "type": st.sampled_from(["pageview", "custom", "click", "nope"]), "url": urls},
    optional={"consent": st.dictionaries(st.sampled_from(["analytics", "ads", "X"]), json_scalars, max_size=3),
              "ts": st.integers(NOW_MS - 2 * WINDOW[0], NOW_MS + 2 * WINDOW[1]) | json_scalars,
              "name": st.text(max_size=3), "kind": st.sampled_from(["heatmap", ""]),
              "props": st.dictionaries(st.text(max_size=70), json_values, max_size=32),
              "referrer": urls, "extra": json_values})
in_window = st.integers(NOW_MS - WINDOW[0], NOW_MS + WINDOW[1])
contract_events = st.tuples(valid_events(), in_window, st.booleans()).map(
    lambda p: {**p[0], "ts": p[1]} if p[2] else p[0])  # the contract allows any ts; build() also needs the window
events = (contract_events | st.tuples(contract_events, st.integers(0, 2)).map(lambda p: broken(*p)) | junk_events)
bodies = (st.binary(max_size=300)
          | json_values.map(orjson.dumps)
          | st.lists(events, max_size=3).map(orjson.dumps)
          | events.map(orjson.dumps))
cases = EXAMPLES or 1000
# Events drawn from the contract's regular expressions take ~25 ms each to generate on a busy 2-core
# machine: hypothesis' too_slow check (1 s for its first examples) would fail the run for the generator's
# cost, not the code's. Only that check is suppressed; filter_too_much and the others stay on.
SLOW_DATA = [HealthCheck.too_slow]


def contract_accepts(item: Any) -> bool:
    return bool(REFERENCE.is_valid(item))


def urls_parse(item: dict[str, Any]) -> bool:
    """The edge's one rule beyond the contract: a URL the pattern admits must also split (`http://[` does not)."""
    try:
        for value in (item.get("url"), item.get("referrer")):
            if value:
                urlsplit(value).port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return False
    return True


def in_time(item: dict[str, Any]) -> bool:
    ts = item.get("ts", NOW_MS)
    return NOW_MS - WINDOW[0] <= ts <= NOW_MS + WINDOW[1]


def test_parser_only_answers_with_client_errors() -> None:
    outcomes = {"built": 0, "refused": 0}

    @settings(max_examples=cases, deadline=None, suppress_health_check=SLOW_DATA)
    @given(bodies)
    def parse(raw: bytes) -> None:
        try:
            items = edge.decode(raw)
            built = edge.build(items, VALIDATE, None, NOW_MS, WINDOW)
        except ClientError as exc:
            assert 400 <= exc.status < 500 and set(exc.body()) == {"error", "detail"}
            outcomes["refused"] += 1
            return
        assert 1 <= len(built) <= edge.MAX_EVENTS and all(isinstance(e, Event) for e in built)
        for item, ev in zip(items, built, strict=True):
            assert contract_accepts(item) and ev.ts_ms <= NOW_MS and ev.site == item["site"]
        outcomes["built"] += 1

    parse()
    assert outcomes["built"] >= cases // 20 and outcomes["refused"] >= cases // 20, outcomes


def test_build_accepts_exactly_what_the_schema_and_window_accept() -> None:
    verdicts = {True: 0, False: 0}

    @settings(max_examples=cases // 2, deadline=None, suppress_health_check=SLOW_DATA)
    @given(st.lists(events, min_size=1, max_size=2))
    def judge(items: list[dict[str, Any]]) -> None:
        valid = all(contract_accepts(i) and urls_parse(i) and in_time(i) for i in items)
        verdicts[valid] += 1
        try:
            edge.build(items, VALIDATE, None, NOW_MS, WINDOW)
            assert valid, items
        except ClientError as exc:
            assert not valid and exc.status == 400, (items, exc.body())

    judge()
    assert min(verdicts.values()) >= cases // 20, verdicts  # both answers exercised, not one by default


def test_the_contract_generator_draws_only_valid_events() -> None:
    @settings(max_examples=cases // 4, deadline=None, suppress_health_check=SLOW_DATA)
    @given(valid_events())
    def check(item: dict[str, Any]) -> None:
        assert contract_accepts(item), list(REFERENCE.iter_errors(item))

    check()


def test_openapi_event_variants_accept_exactly_what_the_event_schema_accepts() -> None:
    import jsonschema_rs

    from collector.openapi import event_variants

    variants = jsonschema_rs.validator_for(event_variants(SCHEMA))
    counts = {True: 0, False: 0}

    @settings(max_examples=cases // 2, deadline=None, suppress_health_check=SLOW_DATA)
    @given(events)
    def same(item: dict[str, Any]) -> None:
        counts[contract_accepts(item)] += 1
        assert variants.is_valid(item) == contract_accepts(item)

    same()
    assert min(counts.values()) >= cases // 20, counts
