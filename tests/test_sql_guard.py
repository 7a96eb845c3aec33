"""Acceptance (b): every forbidden operation, for the read and the analyst role, is refused by the SQL door,
and does not happen; non-admin queries see only their objects, their sites and the filtered metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Api, event
from sql_fixtures import ok_text, sql, sql_api  # noqa: F401

from collector.read import catalog, guard, policy

ROLES = ("reader", "analyst")

FORBIDDEN = {
    "insert": "INSERT INTO analytics.events (site) VALUES ('x')",
    "insert_select": "INSERT INTO analytics.pages_daily SELECT * FROM analytics.pages_daily",
    "delete": "DELETE FROM analytics.events WHERE 1",
    "alter_delete": "ALTER TABLE analytics.events DELETE WHERE 1",
    "truncate": "TRUNCATE TABLE analytics.events",
    "optimize": "OPTIMIZE TABLE analytics.events FINAL",
    "create_table": "CREATE TABLE analytics.evil (a UInt8) ENGINE = Memory",
    "drop_table": "DROP TABLE analytics.events",
    "detach": "DETACH TABLE analytics.events",
    "rename": "RENAME TABLE analytics.events TO analytics.gone",
    "create_function": "CREATE FUNCTION evil AS (x) -> x",
    "create_dictionary": "CREATE DICTIONARY analytics.d (k UInt64, v String) PRIMARY KEY k "
                         "SOURCE(FILE(path '/etc/passwd' format 'TSV')) LAYOUT(FLAT()) LIFETIME(0)",
    "file_table": "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "file_scalar": "SELECT file('/etc/passwd')",
    "url": "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
    "s3": "SELECT * FROM s3('http://127.0.0.1:1/bucket/x.csv')",
    "remote": "SELECT * FROM remote('127.0.0.1:9000', system.one)",
    "executable": "SELECT * FROM executable('cat', 'LineAsString', 'x String')",
    "mysql": "SELECT * FROM mysql('127.0.0.1:3306', 'db', 't', 'u', 'p')",
    "postgresql": "SELECT * FROM postgresql('127.0.0.1:5432', 'db', 't', 'u', 'p')",
    "numbers": "SELECT * FROM numbers(10)",
    "view_function": "SELECT * FROM view(SELECT 1)",
    "into_outfile": "SELECT 1 INTO OUTFILE '{outfile}'",
    "dict_get": "SELECT dictGet('analytics.d', 'v', toUInt64(1))",
    "dictionary_table": "SELECT * FROM dictionary('analytics.d')",
    "join_get": "SELECT joinGet('analytics.j', 'v', 1)",
    "host_name": "SELECT hostName()",
    "get_setting": "SELECT getSetting('max_threads')",
    "processes": "SELECT query FROM system.processes",
    "query_log": "SELECT query FROM system.query_log",
    "system_users": "SELECT name FROM system.users",
    "other_database": "SELECT * FROM analytics_meta.migrations",
    "system_tables_star": "SELECT * FROM system.tables",
    "system_paths": "SELECT data_paths FROM system.tables",
    "show_other_database": "SHOW TABLES FROM system",
    "show_processlist": "SHOW PROCESSLIST",
    "in_table": "SELECT 1 WHERE 1 IN analytics_meta.migrations",
    "settings_clause": "SELECT 1 SETTINGS max_execution_time = 100000",
    "settings_readonly": "SELECT 1 SETTINGS readonly = 0",
    "settings_in_subquery": "SELECT * FROM (SELECT 1 SETTINGS max_threads = 64)",
    "set": "SET readonly = 0",
    "use": "USE system",
    "kill": "KILL QUERY WHERE 1",
    "system_command": "SYSTEM DROP DNS CACHE",
    "multi_statement": "SELECT 1; DROP TABLE analytics.events",
    "multi_statement_select": "SELECT 1; SELECT 2",
}
ANALYST_ONLY = {"raw_events": "SELECT count() FROM analytics.events",
                "raw_events_unqualified": "SELECT count() FROM events",
                "rollup": "SELECT count() FROM analytics.pages_daily"}


def _refused(api: Api, user: str, query: str, **params: str) -> None:
    """The guard itself refused, before the engine: the engine's `readonly = 1` backstop answers 403 too, so
    the status alone would also pass with the guard switched off (see the mutation tests below)."""
    response = sql(api, user, query, **params)
    assert response.headers.get("x-collector-guard") == "refused", (user, query, response.status_code, response.text)
    assert response.status_code in (400, 403, 404), (user, query, response.status_code, response.text)
    assert response.text.startswith("Code: "), response.text
    assert response.headers["x-clickhouse-exception-code"] == response.text.split(".")[0].removeprefix("Code: ")


@pytest.mark.parametrize("user", ROLES)
@pytest.mark.parametrize("operation", sorted(FORBIDDEN))
def test_forbidden_operation_is_refused(sql_api: Api, user: str, operation: str, tmp_path: Path) -> None:  # noqa: F811
    sql_api.send(event())
    outfile = tmp_path / "out.tsv"
    _refused(sql_api, user, FORBIDDEN[operation].format(outfile=outfile))
    assert not outfile.exists()
    assert sql_api.count() == 1  # the raw events are all still there
    assert ok_text(sql_api, "admin", "EXISTS TABLE analytics.evil") == "0\n"


@pytest.mark.parametrize("operation", sorted(ANALYST_ONLY))
def test_read_role_cannot_read_raw_events_or_rollups(sql_api: Api, operation: str) -> None:  # noqa: F811
    sql_api.send(event())
    _refused(sql_api, "reader", ANALYST_ONLY[operation])
    assert ok_text(sql_api, "analyst", ANALYST_ONLY[operation]).strip().isdigit()


@pytest.mark.parametrize("user", ROLES)
@pytest.mark.parametrize("setting", ["max_execution_time=100000", "max_result_rows=0", "readonly=0",
                                     "max_memory_usage=99999999999", "allow_introspection_functions=1",
                                     "additional_table_filters={}", "max_threads=1000"])
def test_limits_cannot_be_raised_through_parameters(sql_api: Api, user: str, setting: str) -> None:  # noqa: F811
    name, value = setting.split("=")
    _refused(sql_api, user, "SELECT 1", **{name: value})


def test_limits_can_be_lowered(sql_api: Api) -> None:  # noqa: F811
    sql_api.send([event(url=f"https://test.example/{i}") for i in range(5)])
    sql_api.flush()
    assert ok_text(sql_api, "analyst", "SELECT path FROM events", max_result_rows="5").count("\n") == 5
    response = sql(sql_api, "analyst", "SELECT path FROM events", max_result_rows="2")
    assert response.status_code == 500 and response.headers["x-clickhouse-exception-code"] == "396"


def test_identifier_parameters_are_checked_after_substitution(sql_api: Api) -> None:  # noqa: F811
    _refused(sql_api, "analyst", "SELECT * FROM {t:Identifier}", param_t="system.processes")
    assert ok_text(sql_api, "analyst", "SELECT count() FROM {t:Identifier}", param_t="events") == "0\n"


def test_other_database_parameter_is_refused(sql_api: Api) -> None:  # noqa: F811
    _refused(sql_api, "analyst", "SELECT 1", database="system")
    _refused(sql_api, "analyst", "SHOW TABLES", database="analytics_meta")


def test_metadata_lists_only_the_users_objects(sql_api: Api) -> None:  # noqa: F811
    assert ok_text(sql_api, "reader", "SHOW DATABASES") == "analytics\n"
    views = sorted(name.split(".", 1)[1] for name in catalog.READ_OBJECTS)
    assert ok_text(sql_api, "reader", "SHOW TABLES").split() == views  # the dashboard views, nothing else
    # parameterised views have no static columns: whatever the metadata lists is among the views
    assert set(ok_text(sql_api, "reader", "SELECT DISTINCT table FROM system.columns").split()) <= set(views)
    tables = ok_text(sql_api, "analyst", "SELECT name FROM system.tables").split()
    assert "events" in tables and "pages_daily" in tables
    assert [t for t in tables if t.endswith("_mv")] == []  # no materialized views
    assert not {"event_ids", "consent_receipts", "site_privacy", "migrations"} & set(tables)  # no bookkeeping
    assert ok_text(sql_api, "analyst", "SELECT DISTINCT database FROM system.columns") == "analytics\n"


def test_site_restricted_user_sees_only_their_sites(sql_api: Api) -> None:  # noqa: F811
    sql_api.send(event())
    sql_api.send(event(site="country.example", url="https://country.example/"))
    sql_api.flush()
    assert ok_text(sql_api, "analyst", "SELECT DISTINCT site FROM events ORDER BY site") == \
        "country.example\ntest.example\n"
    assert ok_text(sql_api, "siteonly", "SELECT DISTINCT site FROM events ORDER BY site") == "test.example\n"
    assert ok_text(sql_api, "siteonly", "SELECT DISTINCT site FROM analytics.pages_daily") == "test.example\n"
    assert ok_text(sql_api, "siteonly",
                   "SELECT count() FROM events WHERE site = 'country.example'") == "0\n"
    joined = "SELECT count() FROM events AS a JOIN analytics.site_daily AS b ON a.site = b.site " \
             "WHERE b.site = 'country.example'"
    assert ok_text(sql_api, "siteonly", joined) == "0\n"


def test_allowed_statements_run(sql_api: Api) -> None:  # noqa: F811
    sql_api.send(event())
    sql_api.flush()
    for query in ["SELECT 1", "SELECT version(), timezone()", "SELECT displayName(), version(), revision(), timezone()",
                  "WITH t AS (SELECT site FROM analytics.events) SELECT count() FROM t",
                  "SELECT site, count() AS n FROM events GROUP BY site WITH TOTALS ORDER BY n DESC LIMIT 5",
                  "SELECT path, row_number() OVER (ORDER BY path) FROM events",
                  "SELECT uniqCombined64Merge(visitors) FROM analytics.pages_daily",
                  "SELECT countIf(type = 'pageview'), quantilesIf(0.5)(1, 1) FROM events",
                  "SELECT name, value, readonly FROM system.settings LIMIT 3",
                  "SELECT name FROM system.functions WHERE name = 'count'",
                  "DESCRIBE TABLE analytics.events", "EXISTS TABLE analytics.events", "SHOW TABLES FROM analytics",
                  "SELECT 1 AS `Page views` FORMAT JSONEachRow",
                  "SELECT * FROM events WHERE site IN (SELECT site FROM analytics.site_daily)"]:
        ok_text(sql_api, "analyst", query)


def test_read_role_calls_the_dashboard_views_for_its_sites_only(sql_api: Api) -> None:  # noqa: F811
    sql_api.send(event())
    sql_api.flush()
    call = "SELECT count() FROM analytics.read_pages(site = '{site}', from = '2000-01-01', to = '2100-01-01')"
    assert ok_text(sql_api, "reader", call.format(site="test.example")).strip().isdigit()
    assert ok_text(sql_api, "siteonly", call.format(site="test.example")).strip().isdigit()
    _refused(sql_api, "siteonly", call.format(site="country.example"))
    _refused(sql_api, "siteonly", "SELECT count() FROM analytics.read_pages(from = '2000-01-01', to = '2100-01-01')")


def test_a_site_restricted_user_cannot_read_table_sizes(sql_api: Api) -> None:  # noqa: F811
    """`total_rows` counts every site's rows: a user of one site would learn the others' volume."""
    sql_api.send(event(site="country.example", url="https://country.example/"))
    sql_api.flush()
    for column in ("total_rows", "total_bytes", "lifetime_rows"):
        _refused(sql_api, "siteonly", f"SELECT name, {column} FROM system.tables")
        _refused(sql_api, "siteonly", f"SELECT name FROM system.tables WHERE {column} > 0")
    _refused(sql_api, "siteonly", "SELECT table, data_compressed_bytes FROM system.columns")
    assert "events" in ok_text(sql_api, "siteonly", "SELECT name FROM system.tables").split()
    assert ok_text(sql_api, "analyst", "SELECT total_rows FROM system.tables WHERE name = 'events'") == "1\n"


# Mutation tests: each switches one part of the guard off and shows the tests above would turn red, while the
# engine's `readonly = 1` backstop still stops every write. Refused before the walk, by the engine's one-statement
# parse (`guard.canonical`): the multi-statement texts.
BEFORE_THE_WALK = {"multi_statement", "multi_statement_select"}
WRITES = {"insert", "insert_select", "delete", "alter_delete", "truncate", "optimize", "create_table", "drop_table",
          "detach", "rename", "create_function", "create_dictionary", "set", "system_command"}
# Not a write the backstop stops: `readonly = 1` lets KILL QUERY through (the engine listed and killed the writer's
# INSERT when the guard was off), so the guard alone refuses it.


def test_without_the_tree_walk_the_guard_tests_turn_red_and_readonly_still_stands(
        sql_api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    # the tree neither read strictly nor walked
    monkeypatch.setattr(guard.ast, "parse", lambda explained: guard.ast.Node("SelectWithUnionQuery"))
    monkeypatch.setattr(guard._Walk, "statement", lambda self, root: None)
    sql_api.send(event())
    passed = [op for op in sorted(set(FORBIDDEN) - BEFORE_THE_WALK)
              if _holds(sql_api, "reader", FORBIDDEN[op].format(outfile=tmp_path / "out.tsv"))]
    assert passed == []  # every one of these guard tests would fail
    for op in sorted(WRITES):  # ... and the backstop still stands: the engine refuses every write itself
        response = sql(sql_api, "analyst", FORBIDDEN[op])
        assert response.status_code != 200 and "x-collector-guard" not in response.headers, (op, response.text)
    assert sql_api.count() == 1
    assert ok_text(sql_api, "admin", "EXISTS TABLE analytics.evil") == "0\n"
    for operation in sorted(ANALYST_ONLY):
        assert not _holds(sql_api, "reader", ANALYST_ONLY[operation])


def test_without_the_settings_check_the_parameter_tests_turn_red(
        sql_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(policy, "refused_settings", lambda asked: [])
    assert not _holds(sql_api, "analyst", "SELECT 1", max_execution_time="100000")
    assert not _holds(sql_api, "analyst", "SELECT 1", readonly="0")


def test_without_the_guards_parse_the_multi_statement_tests_turn_red(
        sql_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The one-statement parse (`canonical`, then `EXPLAIN AST`) switched off with everything else: only the settings
    clause is appended. Only the harmless text is replayed: with the parse off, the engine runs every statement of
    the text and the appended `readonly = 1` covers the last one only ("SELECT 1; DROP TABLE analytics.events"
    dropped the table), so this parse is the only defence there."""
    def unchecked(run, sql, params, user, functions, site_tables, settings, default_format):  # type: ignore[no-untyped-def]
        return guard.Checked(sql + " FORMAT " + default_format + policy.settings_clause(user, site_tables, settings),
                             None)
    monkeypatch.setattr(guard, "check", unchecked)
    assert not _holds(sql_api, "reader", FORBIDDEN["multi_statement_select"])


def _holds(api: Api, user: str, query: str, **params: str) -> bool:
    """Whether `_refused` passes for this query."""
    try:
        _refused(api, user, query, **params)
    except AssertionError:
        return False
    return True
