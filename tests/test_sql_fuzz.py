"""Acceptance (b), fuzzed: hypothesis writes query text from fragments of allowed and forbidden SQL (and
noise: comments, quotes, line breaks, statement separators). Whatever the text, a non-admin request either is
refused or ran a statement that an independent check of the engine's own tree allows: a SELECT/SHOW/DESCRIBE/
EXISTS with no SETTINGS, no OUTFILE, no table outside *that role's* objects and metadata, no function from the
dangerous list; a user of one site saw nothing of the other site the store holds; and nothing was written
anywhere (a canary table, the raw events, the file system).

Independent: the check reads `EXPLAIN AST` with its own few lines below, never the door's parser
(collector.read.ast) or its lists (policy, catalog), so a bug there cannot hide itself here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import Api, event
from hypothesis import HealthCheck, given, settings
from hypothesis import event as outcome
from hypothesis import strategies as st
from sql_fixtures import sql, sql_api  # noqa: F401

OUTFILE = Path("/tmp") / "collector-sql-fuzz-outfile.tsv"
FRAGMENTS = [
    "SELECT", "count()", "*", "1", "path", "site", "FROM", "analytics.events", "events", "analytics.pages_daily",
    "system.processes", "system.tables", "canary.t", "analytics_meta.migrations", "WHERE", "GROUP BY", "UNION ALL",
    "JOIN", "ON", "=", ",", "(", ")", "file('/etc/passwd')", "url('http://127.0.0.1:1/x', 'CSV')",
    "remote('127.0.0.1', system.one)", "numbers(3)", "executable('id', 'TSV', 'x String')", "dictGet('d', 'a', 1)",
    "hostName()", "getSetting('readonly')", "SETTINGS readonly = 0", "SETTINGS max_threads = 99", "FORMAT JSON",
    f"INTO OUTFILE '{OUTFILE}'", ";", "INSERT INTO canary.t VALUES (7)", "DROP TABLE canary.t", "TRUNCATE canary.t",
    "DELETE FROM canary.t WHERE 1", "WITH", "AS", "x", "`a\nb`", "'str'", "-- c\n", "/* c */", "\n", "IN",
    "SHOW TABLES", "FROM system", "DESCRIBE TABLE", "EXISTS", "SET max_threads = 1", "USE system", "CREATE TABLE",
    "view(SELECT 1)", "joinGet('j', 'v', 1)", "{p:Identifier}", "LIMIT 1", "system.one", "COLUMNS('.*')",
    "analytics.read_pages(site = 'test.example', from = '2000-01-01', to = '2100-01-01')",
    "analytics.read_pages(site = 'country.example', from = '2000-01-01', to = '2100-01-01')",
]
DANGEROUS = {"file", "url", "remote", "numbers", "executable", "dictGet", "hostName", "getSetting", "joinGet",
             "view", "s3", "mysql", "postgresql"}
METADATA = {"system.tables", "system.one", "x"}  # x: the fuzz's only CTE name
# What each role may name as a table, written out here rather than taken from the door's catalog.
ALLOWED_TABLES = {
    "reader": METADATA,  # the read role calls parameterised views (table functions), never a table
    "analyst": METADATA | {"analytics.events", "analytics.pages_daily", "events", "pages_daily", "site_daily",
                           "analytics.site_daily"},
}
ALLOWED_TABLES["siteonly"] = ALLOWED_TABLES["analyst"]
READ_VIEWS = {"read_pages", "read_visits", "read_goals", "read_heatmap"}
OTHER_SITE, OTHER_PATH = "country.example", "/only-on-the-other-site"
# Each slot is allowed or forbidden with equal odds, so about one statement in eight is allowed in full.
EXPRESSIONS = (["count()", "path", "*", "1", "name", "uniqCombined64Merge(visitors)", "site"],
               ["file('/etc/passwd')", "hostName()", "dictGet('d', 'a', 1)", "getSetting('readonly')",
                "(SELECT count() FROM system.processes)", "1 IN analytics_meta.migrations", "COLUMNS('.*')",
                "data_paths", "`a\nb`"])
TABLES = (["analytics.events", "events", "analytics.pages_daily", "system.tables", "x", "{p:Identifier}",
           "analytics.read_pages(site = 'test.example', from = '2000-01-01', to = '2100-01-01')"],
          ["system.processes", "canary.t", "analytics_meta.migrations", "file('/etc/passwd', 'LineAsString')",
           "numbers(3)", "(SELECT * FROM canary.t)", "remote('127.0.0.1', system.one)", "view(SELECT 1)",
          "analytics.read_pages(site = 'country.example', from = '2000-01-01', to = '2100-01-01')"])
TAILS = (["", "LIMIT 1", "FORMAT JSON", "WHERE site = 'test.example'", "-- x", "/* ; */ LIMIT 2", "\n;"],
         ["SETTINGS readonly = 0", f"INTO OUTFILE '{OUTFILE}'", "; DROP TABLE canary.t",
          "UNION ALL SELECT 1 FROM canary.t"])


def _slot(options: tuple[list[str], list[str]]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(options[0]), st.sampled_from(options[1]))


structured = st.builds(lambda w, e, t, tail: f"{w}SELECT {e} FROM {t} {tail}",
                       st.sampled_from(["", "WITH x AS (SELECT 1) ", "WITH x AS (SELECT * FROM canary.t) "]),
                       _slot(EXPRESSIONS), _slot(TABLES), _slot(TAILS))
fragments = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12).map(" ".join)
param = st.sampled_from(["events", "system.processes", "canary.t"])


_LINE = re.compile(r"^( *)(\w+)(?: (.*?))?(?: \(alias [^)]*\))?(?: \(children (\d+)\))?$")


def _tree(explained: str) -> list[tuple[int, str, str]]:
    """(depth, kind, text) of every line of `EXPLAIN AST`: one space of indent per level."""
    nodes = []
    for line in explained.splitlines():
        match = _LINE.match(line)
        assert match, f"a line of the engine's tree this check cannot read: {line!r}"
        nodes.append((len(match.group(1)), match.group(2), match.group(3) or ""))
    return nodes


def _independent_check(api: Api, query: str, p: str, user: str, body: str) -> None:
    """Re-parse what the door accepted, as the admin, and check it without the door's code."""
    canonical = sql(api, "admin", "SELECT formatQuerySingleLine({q:String})", default_format="TSVRaw",
                    param_q=query.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")).text.strip()
    nodes = _tree(sql(api, "admin", "EXPLAIN AST " + canonical, param_p=p, default_format="TSVRaw").text)
    assert nodes[0][1] in {"SelectWithUnionQuery", "ShowTables", "DescribeQuery", "ExistsTableQuery"}, query
    for depth, kind, text in nodes:
        assert kind != "Set", query
        assert not (depth == 1 and kind == "Literal"), query  # INTO OUTFILE 'path'
        if kind == "Function" and text.removeprefix("analytics.") in READ_VIEWS:
            continue  # a parameterised view; its site argument shows in the answer below
        assert not (kind == "Function" and text in DANGEROUS), query
        assert not (kind == "TableIdentifier" and text not in ALLOWED_TABLES[user]), (user, query)
    if user == "siteonly":  # the store holds another site: nothing of it may come back
        assert OTHER_SITE not in body and OTHER_PATH not in body, (query, body[:300])


@pytest.fixture
def canary(sql_api: Api) -> Api:  # noqa: F811
    for statement in ("CREATE DATABASE IF NOT EXISTS canary", "DROP TABLE IF EXISTS canary.t",
                      "CREATE TABLE canary.t (v UInt8) ENGINE = MergeTree ORDER BY v",
                      "INSERT INTO canary.t VALUES (1)"):
        assert sql(sql_api, "admin", statement).status_code == 200
    sql_api.send(event())
    sql_api.send(event(site=OTHER_SITE, url=f"https://{OTHER_SITE}{OTHER_PATH}"))
    sql_api.flush()
    return sql_api


USERS = st.sampled_from(["reader", "analyst", "siteonly"])


def _request(api: Api, query: str, p: str, user: str) -> None:
    response = sql(api, user, query, param_p=p)
    outcome(f"status {response.status_code}")
    assert response.status_code != 500 or response.headers.get("x-clickhouse-exception-code") not in (None, "1001"), \
        response.text
    if response.status_code == 200 and query.strip():  # blank text is answered "Ok." like ClickHouse's GET /
        _independent_check(api, query, p, user, response.text)
    assert sql(api, "admin", "SELECT count() FROM canary.t").text == "1\n"
    assert sql(api, "admin", "SELECT count() FROM analytics.events").text == "2\n"
    assert not OUTFILE.exists()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=structured, p=param, user=USERS)
def test_no_non_admin_statement_runs_unless_allowed(canary: Api, query: str, p: str, user: str) -> None:
    _request(canary, query, p, user)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=fragments, p=param, user=USERS)
def test_no_non_admin_text_runs_unless_allowed(canary: Api, query: str, p: str, user: str) -> None:
    _request(canary, query, p, user)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=200), p=param, user=USERS)
def test_arbitrary_text_is_refused_or_allowed_never_a_crash(canary: Api, query: str, p: str, user: str) -> None:
    _request(canary, query, p, user)
