"""The HTTP interface itself: ping, query parameter plus body, formats, bound parameters, transport parameters,
response headers, compressed bodies both ways, and ClickHouse's status mapping for errors."""

from __future__ import annotations

import orjson
import pytest
from conftest import Api, event
from sql_fixtures import ok_text, password, sql, sql_api  # noqa: F401

from collector.read import compression, errors


def test_ping(sql_api: Api) -> None:  # noqa: F811
    response = sql_api.client.get("/sql/ping")
    assert (response.status_code, response.text) == (200, "Ok.\n")


def test_query_parameter_then_a_newline_then_the_body(sql_api: Api) -> None:  # noqa: F811
    response = sql_api.client.post("/sql", params={"query": "SELECT 1 AS a,"}, content=b"2 AS b FORMAT JSONEachRow",
                                   auth=("reader", password("reader")))
    assert response.text == '{"a":1,"b":2}\n'
    response = sql_api.client.get("/sql", params={"query": "SELECT 3", "user": "reader",
                                                  "password": password("reader")})
    assert response.text == "3\n"


def test_formats_bound_parameters_and_headers(sql_api: Api) -> None:  # noqa: F811
    sql_api.send(event())
    sql_api.flush()
    response = sql(sql_api, "analyst", "SELECT site, {n:UInt8} AS n FROM events WHERE site = {s:String}",
                   param_s="test.example", param_n="7", default_format="JSONCompact", query_id="q-1",
                   session_id="s-1", wait_end_of_query="1", cancel_http_readonly_queries_on_client_close="1")
    assert response.status_code == 200, response.text
    assert orjson.loads(response.content)["data"] == [["test.example", 7]]
    assert response.headers["x-clickhouse-query-id"] == "q-1"
    assert response.headers["x-clickhouse-format"] == "JSONCompact"
    assert response.headers["x-clickhouse-timezone"]
    assert response.headers["x-clickhouse-server-display-name"] == "collector"
    summary = orjson.loads(response.headers["x-clickhouse-summary"])
    assert summary["read_rows"] == "1" and all(isinstance(v, str) for v in summary.values())
    tsv = sql_api.client.post("/sql", content=b"SELECT 1 AS x", auth=("reader", password("reader")),
                              headers={"X-ClickHouse-Format": "TabSeparatedWithNames"})
    assert tsv.text == "x\n1\n"
    for fmt in ("CSVWithNames", "JSONEachRow", "RowBinaryWithNamesAndTypes", "Parquet", "TSVWithNamesAndTypes"):
        assert sql(sql_api, "reader", f"SELECT 1 AS x FORMAT {fmt}").status_code == 200, fmt


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "lz4", "zstd", "br"])
def test_compressed_request_and_response_bodies(sql_api: Api, encoding: str) -> None:  # noqa: F811
    body = compression.encode(b"SELECT 42 AS answer", encoding)
    response = sql_api.client.post("/sql", content=body, params={"enable_http_compression": "1"},
                                   headers={"Content-Encoding": encoding, "Accept-Encoding": encoding},
                                   auth=("reader", password("reader")))
    assert response.status_code == 200, response.text
    assert response.headers["content-encoding"] == encoding
    # httpx undoes the encodings it knows (gzip, deflate, br, zstd); lz4 arrives as sent
    content = response.content if response.content == b"42\n" else compression.decode(response.content, encoding)
    assert content == b"42\n"


def test_responses_are_not_compressed_unless_asked(sql_api: Api) -> None:  # noqa: F811
    response = sql_api.client.post("/sql", content=b"SELECT 1", headers={"Accept-Encoding": "gzip"},
                                   auth=("reader", password("reader")))
    assert "content-encoding" not in response.headers


def test_a_corrupt_or_unknown_encoding_is_a_400(sql_api: Api) -> None:  # noqa: F811
    for encoding in ("gzip", "snappy"):
        response = sql_api.client.post("/sql", content=b"not compressed", headers={"Content-Encoding": encoding},
                                       auth=("reader", password("reader")))
        assert response.status_code == 400, response.text


@pytest.mark.parametrize("user, query, status, code", [
    ("analyst", "SELEC 1", 400, "62"), ("analyst", "SELECT nope FROM events", 404, "47"),
    ("admin", "SELECT * FROM analytics.nope", 404, "60"), ("analyst", "SELECT * FROM analytics.nope", 403, "497"),
    ("analyst", "SELECT toUInt8('x')", 400, "6"), ("analyst", "SELECT 1 FORMAT NoSuchFormat", 403, "497"),
])
def test_errors_follow_clickhouse_status_mapping(sql_api: Api, user: str, query: str, status: int,  # noqa: F811
                                                 code: str) -> None:
    response = sql(sql_api, user, query)
    assert (response.status_code, response.headers["x-clickhouse-exception-code"]) == (status, code), response.text
    assert response.text.startswith(f"Code: {code}. DB::Exception: ")


def test_status_mapping_never_answers_503_for_an_ordinary_error() -> None:
    assert errors.status_of(76) == 500  # CANNOT_OPEN_FILE: a 503 would make clients retry
    assert errors.status_of(159) == 408 and errors.status_of(194) == 401 and errors.status_of(516) == 403
    assert errors.status_of(60) == 404 and errors.status_of(62) == 400 and errors.status_of(48) == 501


def test_a_large_body_is_refused_for_non_admins(sql_api: Api) -> None:  # noqa: F811
    response = sql(sql_api, "reader", "SELECT 1 -- " + "x" * (1024 * 1024 + 1))
    assert (response.status_code, response.headers["x-clickhouse-exception-code"]) == (413, "393")


def test_admin_inserts_rows_from_the_body(sql_api: Api) -> None:  # noqa: F811
    for statement in ("CREATE DATABASE IF NOT EXISTS proto",
                      "CREATE OR REPLACE TABLE proto.t (a UInt8, b String) ENGINE = Memory",
                      'INSERT INTO proto.t FORMAT JSONEachRow\n{"a":1,"b":"x"}\n{"a":2,"b":"y"}'):
        assert sql(sql_api, "admin", statement).status_code == 200, statement
    rows = sql_api.client.post("/sql", params={"query": "INSERT INTO proto.t FORMAT RowBinary"},
                               content=b"\x03\x01z", auth=("admin", password("admin")))
    assert rows.status_code == 200, rows.text
    assert ok_text(sql_api, "admin", "SELECT a, b FROM proto.t ORDER BY a") == "1\tx\n2\ty\n3\tz\n"
    assert sql(sql_api, "admin", "DROP DATABASE proto").status_code == 200


def test_a_query_that_is_not_utf8_is_a_400(sql_api: Api) -> None:  # noqa: F811
    for user in ("reader", "admin"):
        response = sql_api.client.post("/sql", content=b"SELECT '\xff\xfe'", auth=(user, password(user)))
        assert (response.status_code, response.headers["x-clickhouse-exception-code"]) == (400, "62")


def test_request_values_echoed_in_headers_are_sanitised(sql_api: Api) -> None:  # noqa: F811
    response = sql(sql_api, "reader", "SELECT 1", query_id="bad\nid\u00e9")
    assert response.status_code == 200 and "\n" not in response.headers["x-clickhouse-query-id"]
    refused = sql_api.client.post("/sql", content=b"SELECT 1", params={"query_id": "x\ny"}, auth=("nobody", "x"))
    assert refused.status_code == 403
    bad_format = sql(sql_api, "admin", "SELECT 1", default_format="JSON\r\nX-Evil: 1")
    assert (bad_format.status_code, bad_format.headers["x-clickhouse-exception-code"]) == (404, "73")
