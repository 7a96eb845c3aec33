"""Acceptance (a): real clients against a running collector's /sql. clickhouse-connect's HTTP client reads
typed columns, runs commands and inserts (admin); its SQLAlchemy dialect lists tables and columns and runs a
SELECT as the read user. The read role's objects are the dashboard views; until they exist, a rollup stands in
for one (monkeypatched into the catalog for that test only)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
import pytest
import sqlalchemy
from conftest import Api, event, serve
from sql_fixtures import ADMIN_TOKEN, password, sql_api  # noqa: F401

from collector.read import catalog


@pytest.fixture
def door(sql_api: Api) -> Iterator[tuple[str, int, Api]]:  # noqa: F811
    sql_api.send([event(url=f"https://test.example/p{i % 3}") for i in range(6)])
    sql_api.flush()
    with serve(sql_api.client.app) as url:
        parts = urlsplit(url)
        yield parts.hostname or "", parts.port or 0, sql_api


def client(door: tuple[str, int, Api], user: str, **kwargs: Any) -> Any:
    host, port, _ = door
    return clickhouse_connect.get_client(host=host, port=port, username=user, password=password(user),
                                         proxy_path="/sql", database="analytics", **kwargs)


def test_admin_commands_inserts_and_typed_reads(door: tuple[str, int, Api]) -> None:
    admin = client(door, "admin")
    assert admin.protocol_version > 0  # the Native probe with client_protocol_version matched a server's bytes
    admin.command("DROP DATABASE IF EXISTS sqldoor_test")
    admin.command("CREATE DATABASE sqldoor_test")
    admin.command("CREATE TABLE sqldoor_test.typed (ts DateTime('UTC'), browser LowCardinality(String), "
                  "props Map(String, String), kind Enum8('pageview' = 1, 'click' = 2), visitor UInt64) "
                  "ENGINE = MergeTree ORDER BY ts")
    ts = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    rows = [[ts, "Firefox", {"plan": "pro"}, "pageview", 1], [ts, "Chrome", {}, "click", 2],
            [ts, "Firefox", {"a": "b"}, "click", 1]]
    admin.insert("sqldoor_test.typed", rows, column_names=["ts", "browser", "props", "kind", "visitor"])
    assert admin.command("SELECT count() FROM sqldoor_test.typed") == 3
    result = admin.query("SELECT ts, browser, props, kind FROM sqldoor_test.typed ORDER BY visitor, kind")
    first = result.result_rows[0]
    assert first[0].replace(tzinfo=None) == ts.replace(tzinfo=None)  # the client drops a UTC zone the server shares
    assert first[1:] == ("Firefox", {"plan": "pro"}, "pageview")
    assert result.column_types[1].name == "LowCardinality(String)"
    merged = admin.query("SELECT browser, uniqMerge(v) AS visitors FROM (SELECT browser, uniqState(visitor) AS v "
                         "FROM sqldoor_test.typed GROUP BY browser) GROUP BY browser ORDER BY browser")
    assert merged.result_rows == [("Chrome", 1), ("Firefox", 1)]
    admin.command("DROP DATABASE sqldoor_test")


def test_analyst_reads_rollups_with_merges(door: tuple[str, int, Api]) -> None:
    analyst = client(door, "analyst")
    result = analyst.query("SELECT path, sum(views) AS views, uniqCombined64Merge(visitors) AS visitors "
                           "FROM analytics.pages_daily GROUP BY path ORDER BY path")
    assert [r[:2] for r in result.result_rows] == [("/p0", 2), ("/p1", 2), ("/p2", 2)]
    assert analyst.query("SELECT count() FROM events").result_rows == [(6,)]
    assert analyst.query("SELECT type, count() FROM events GROUP BY type").result_rows == [("pageview", 6)]


def test_sqlalchemy_dialect_as_the_read_user(door: tuple[str, int, Api], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "READ_OBJECTS", frozenset({"analytics.site_daily"}))
    host, port, _ = door
    engine = sqlalchemy.create_engine(
        f"clickhousedb://reader:{password('reader')}@{host}:{port}/analytics?proxy_path=/sql")
    inspector = sqlalchemy.inspect(engine)
    assert inspector.get_table_names(schema="analytics") == ["site_daily"]
    assert inspector.get_schema_names() == ["analytics"]
    columns = {c["name"] for c in inspector.get_columns("site_daily", schema="analytics")}
    assert {"site", "day", "views"} <= columns
    with engine.connect() as connection:
        views = connection.execute(sqlalchemy.text("SELECT sum(views) FROM analytics.site_daily")).scalar()
    assert views == 6
    with engine.connect() as connection, pytest.raises(sqlalchemy.exc.DatabaseError, match="497"):
        connection.execute(sqlalchemy.text("SELECT count() FROM analytics.events")).scalar()
    engine.dispose()


def test_admin_token_logs_in_as_the_builtin_admin(door: tuple[str, int, Api]) -> None:
    assert client(door, "admin").command("SELECT currentDatabase()") == "analytics"
    assert password("admin") == ADMIN_TOKEN
