"""Whose fault a failed insert is, decided on real refusals of the engine: a parse or type error names the
block (quarantine it), TOO_MANY_PARTS, a missing table or an unreachable server do not (retry)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import clickhouse_connect
import pytest
from conftest import Api, free_port, serve

from collector import refusals
from collector.handoff import HandoffError
from collector.store import Store


@contextmanager
def too_many_parts(store: Store, table: str = "analytics.events") -> Iterator[None]:
    """A real TOO_MANY_PARTS from the engine while SELECTs still work: merges stopped and the table's
    `parts_to_throw_insert` set to 1, so once it holds a part every insert is refused. Undone on exit."""
    store.command(f"SYSTEM STOP MERGES {table}")
    store.command(f"ALTER TABLE {table} MODIFY SETTING parts_to_throw_insert = 1")
    try:
        yield
    finally:
        store.command(f"ALTER TABLE {table} RESET SETTING parts_to_throw_insert")
        store.command(f"SYSTEM START MERGES {table}")


def refusal(store: Store, block: bytes, columns: tuple[str, ...] = ("site", "day", "reason", "events",
                                                                   "retention_days")) -> Exception:
    with pytest.raises(Exception) as caught:
        store.insert_rows("analytics.dropped_daily", columns, block, uuid.uuid4().hex)
    return caught.value


def test_rows_that_do_not_parse_or_fit_name_the_block(store: Store) -> None:
    short = refusal(store, b'["s","2026-01-01","bot",1]')  # a value missing
    wrong_type = refusal(store, b'["s","2026-01-01","bot","many",30]')  # a string for a UInt64
    for exc in (short, wrong_type):
        assert refusals.block_code(exc) == 27 and refusals.label(exc) == "CANNOT_PARSE_INPUT_ASSERTION_FAILED"
    assert store.query("SELECT count() FROM analytics.dropped_daily") == [(0,)]


def test_a_busy_server_a_missing_table_or_no_server_is_not_the_blocks_fault(store: Store) -> None:
    good = b'["s","%s","bot",1,400]' % dt.date.today().isoformat().encode()  # within its TTL: a part is written
    columns = ("site", "day", "reason", "events", "retention_days")
    store.insert_rows("analytics.dropped_daily", columns, good, uuid.uuid4().hex)  # a part: the next is one too many
    assert store.query("SELECT count() FROM analytics.dropped_daily") == [(1,)]
    with too_many_parts(store, "analytics.dropped_daily"):
        busy = refusal(store, good.replace(b"bot", b"spam"))
        assert store.query("SELECT count() FROM analytics.dropped_daily") == [(1,)]  # reads still answer
    assert refusals.block_code(busy) is None and refusals.label(busy) == "TOO_MANY_PARTS"
    store.command("DETACH TABLE analytics.dropped_daily")
    try:
        missing = refusal(store, good)
    finally:
        store.command("ATTACH TABLE analytics.dropped_daily")
    assert refusals.block_code(missing) is None and refusals.label(missing) == "UNKNOWN_TABLE"
    with pytest.raises(Exception) as unreachable:  # a real client, nothing listening on the port
        clickhouse_connect.get_client(host="127.0.0.1", port=free_port(), connect_timeout=2)
    assert refusals.block_code(unreachable.value) is None
    assert refusals.block_code(HandoffError("the store owner is unreachable")) is None


def test_the_block_codes_are_the_engines_names(store: Store) -> None:
    """The table of codes matches the engine's own errorCodeToName, so a renumbering cannot go unseen."""
    names = store.query("SELECT " + ", ".join(f"errorCodeToName({code})" for code in refusals.BLOCK_CODES))
    assert list(names[0]) == list(refusals.BLOCK_CODES.values())


def test_over_http_the_codes_arrive_and_decide_the_same(make_api: Callable[..., Api], store: Store) -> None:
    """Server mode: clickhouse-connect's HTTP client reads the code from X-ClickHouse-Exception-Code. The
    server here is a stand-in: a collector's /sql (ClickHouse's HTTP interface) over the embedded engine,
    since no ClickHouse server can run in the test environment; the refusals are the engine's own."""
    token = "r" * 32
    api = make_api(admin_token=token)
    columns = ["site", "day", "reason", "events", "retention_days"]
    good = b'["s","%s","bot",1,400]' % dt.date.today().isoformat().encode()
    with serve(api.client.app) as url:
        client = clickhouse_connect.get_client(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]), username="admin",
                                               password=token, proxy_path="/sql", database="analytics")
        insert = lambda block: client.raw_insert("analytics.dropped_daily", columns, block,  # noqa: E731
                                                 fmt="JSONCompactEachRow",
                                                 settings={"insert_deduplication_token": uuid.uuid4().hex})
        insert(good)
        with pytest.raises(Exception) as bad:
            insert(b'["s","not a day","bot",1,400]')
        with too_many_parts(store, "analytics.dropped_daily"), pytest.raises(Exception) as busy:
            insert(good.replace(b"bot", b"spam"))
        client.close()
    assert refusals.block_code(bad.value) == 38 and refusals.label(bad.value) == "CANNOT_PARSE_DATE"
    assert refusals.block_code(busy.value) is None and refusals.label(busy.value) == "TOO_MANY_PARTS"
