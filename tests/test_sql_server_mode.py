"""Server mode: the door's engine speaks ClickHouse's HTTP interface to the server. No ClickHouse server runs
in the test suite, so the engine is pointed at a running collector's own /sql, which speaks the same protocol
(a stand-in for the server, said here as the rule asks): statements, bound values, settings, inserts with rows
in the body, the summary header, and the server's errors kept whole."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from conftest import Api, event, serve
from sql_fixtures import ADMIN_TOKEN, sql_api  # noqa: F401

from collector.read.errors import SqlError
from collector.read.server import ServerEngine


def test_server_engine_round_trip(sql_api: Api) -> None:  # noqa: F811
    sql_api.send(event())
    sql_api.flush()
    with serve(sql_api.client.app) as url:
        port = urlsplit(url).port
        engine = ServerEngine(f"http://admin:{ADMIN_TOKEN}@127.0.0.1:{port}/analytics", 2, path="/sql")
        result = engine.run("SELECT site, {n:UInt8} FROM events", "TSV", {"n": "7"}, "analytics", admin=True,
                            settings={"max_threads": "1"})
        assert result.body == b"test.example\t7\n" and result.read_rows == 1
        engine.run("CREATE OR REPLACE TABLE analytics_meta.server_mode (a UInt8) ENGINE = Memory", "TSV", {},
                   "analytics", admin=True)
        engine.insert("INSERT INTO analytics_meta.server_mode FORMAT RowBinary", b"\x05\x06", "analytics")
        assert engine.run("SELECT sum(a) FROM analytics_meta.server_mode", "TSV", {}, "analytics",
                          admin=True).body == b"11\n"
        with pytest.raises(SqlError) as caught:
            engine.run("SELECT nope", "TSV", {}, "analytics", admin=True)
        assert caught.value.code == 47
        engine.run("DROP TABLE analytics_meta.server_mode", "TSV", {}, "analytics", admin=True)
