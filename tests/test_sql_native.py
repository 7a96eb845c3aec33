"""Acceptance (d): Native at the client's protocol revision. With `client_protocol_version` the door writes
ClickHouse's framing for that revision: the 8-byte block-info prefix on every block (what clickhouse-connect,
revision 54405, skips: driver/transform.py) and, from revision 54454, one custom-serialization byte after each
column's type (what clickhouse-go, Grafana's driver, reads: lib/proto/block.go). Without it, the engine's
revision-0 bytes pass unchanged."""

from __future__ import annotations

import pytest
from conftest import Api, event
from sql_fixtures import sql, sql_api  # noqa: F401

from collector.read import native
from collector.read.errors import SqlError

CHECK_REVISION_0 = b"\x01\x01\x05check\x05UInt8\x01"
BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"


def test_without_a_revision_the_engines_bytes_pass_unchanged(sql_api: Api) -> None:  # noqa: F811
    response = sql(sql_api, "reader", "SELECT 1 AS check FORMAT Native")
    assert response.content == CHECK_REVISION_0
    assert response.headers["x-clickhouse-format"] == "Native"


def test_clickhouse_connect_probe_gets_the_block_info_prefix(sql_api: Api) -> None:  # noqa: F811
    response = sql(sql_api, "reader", "SELECT 1 AS check FORMAT Native", client_protocol_version="54405")
    assert response.content == BLOCK_INFO + CHECK_REVISION_0
    assert response.content[8:16] == b"\x01\x01\x05check"  # exactly what clickhouse-connect's probe compares


def test_clickhouse_go_revision_gets_a_serialization_byte_per_column(sql_api: Api) -> None:  # noqa: F811
    response = sql(sql_api, "reader", "SELECT 1 AS check, 'x' AS s FORMAT Native", client_protocol_version="54460")
    assert response.content == (BLOCK_INFO + b"\x02\x01" + b"\x05check\x05UInt8\x00\x01"
                                + b"\x01s\x06String\x00\x01x")


def test_every_block_is_framed(sql_api: Api) -> None:  # noqa: F811
    sql_api.send([event(url=f"https://test.example/{i}") for i in range(3)])
    sql_api.flush()
    query = ("SELECT path, toLowCardinality(path) AS lc, map(path, 1) AS m, [tuple(1, path)] AS a "
             "FROM events UNION ALL SELECT path, path, map(), [] FROM events FORMAT Native")
    plain = sql(sql_api, "analyst", query).content
    framed = sql(sql_api, "analyst", query, client_protocol_version="54460").content
    assert framed.count(BLOCK_INFO) >= 2 and framed.startswith(BLOCK_INFO)
    assert len(framed) == len(plain) + framed.count(BLOCK_INFO) * (8 + 4)


def test_types_without_a_known_layout_are_refused_not_misframed() -> None:
    type_name = b"AggregateFunction(uniq, UInt64)"
    block = b"\x01\x01\x01v" + bytes([len(type_name)]) + type_name + b"\x00"
    with pytest.raises(SqlError) as caught:
        native.at_revision(block, 54405)
    assert caught.value.code == 48
    assert native.at_revision(block, 0) == block
