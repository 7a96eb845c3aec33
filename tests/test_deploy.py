"""Acceptance (e): both compose files are valid (`docker-compose config`; no container engine runs here), and
the ClickHouse users they mount give each user only its job. ClickHouse itself is not run: chDB refuses
CREATE USER and GRANT, so each grant of the users file is parsed by the engine's own parser (`formatQuery`
on chDB, which also normalises it) and the normalised grants are evaluated here: the ingest user cannot
SELECT the raw table, the dashboard user can INSERT nothing and read the suppressed views only."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from collector import writer
from collector.read.catalog import READ_OBJECTS
from collector.settings import SettingsError, from_env
from collector.store import Store

ROOT = Path(__file__).resolve().parent.parent
USERS = ROOT / "deploy" / "clickhouse" / "users.d" / "collector.xml"
SYSTEM_LOGS = ROOT / "deploy" / "clickhouse" / "config.d" / "system_logs.xml"
COMPOSE_FILES = [ROOT / "docker-compose.yml", ROOT / "deploy" / "cluster" / "docker-compose.yml"]
SECRETS = {name: "x" for name in ("CLICKHOUSE_ADMIN_PASSWORD", "CLICKHOUSE_INGEST_PASSWORD",
                                  "CLICKHOUSE_DASHBOARD_PASSWORD", "COLLECTOR_ADMIN_TOKEN", "GRAFANA_ADMIN_PASSWORD")}
_GRANT = re.compile(r"^GRANT (.+) ON (\w+|\*)\.(\w+|\*) TO (\w+)$")


def compose(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(["docker-compose", "-f", str(path), "config"], capture_output=True, text=True,
                          timeout=60, env={**clean, **env})


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.parent.name)
def test_compose_files_are_valid_and_refuse_to_start_without_their_secrets(path: Path) -> None:
    result = compose(path, SECRETS)
    assert result.returncode == 0, result.stderr
    assert compose(path, {}).returncode != 0  # no password has a default
    text = path.read_text()
    images = re.findall(r"image: (\S+)", text)
    assert all(":" in i and not i.endswith(":latest") for i in images), images
    assert "clickhouse/clickhouse-server:" in text
    published = re.findall(r"^\s+- (?:([\d.]+):)?(\d+):(\d+)/tcp$", result.stdout, re.M)
    assert published and all(host == "127.0.0.1" for host, *_ in published), published  # ClickHouse, Grafana
    assert "published: 9000" not in result.stdout and "published: 8123" not in result.stdout


def test_production_compose_builds_the_collector_with_its_healthcheck_and_named_volumes() -> None:
    config = compose(COMPOSE_FILES[0], SECRETS).stdout
    collector = config[config.index("\n  collector:"):config.index("\n  grafana:")]
    assert "context:" in collector and "/readyz" in collector and "CLICKHOUSE_INGEST_URL: http://ingest:" in collector
    assert "condition: service_completed_successfully" in collector  # after the one-shot migrate
    assert "/deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in config
    for volume in ("clickhouse-data", "collector-data", "grafana-data"):
        assert re.search(rf"^  {volume}:", config, re.M)


def test_cluster_compose_has_three_keepers_two_shards_of_two_replicas_and_a_balancer() -> None:
    config = compose(COMPOSE_FILES[1], SECRETS).stdout
    assert sorted(re.findall(r"KEEPER_SERVER_ID: '(\d)'", config)) == ["1", "2", "3"]
    shards = re.findall(r"REPLICA: (ch-s\d-r\d)\n\s+SHARD: '(\d+)'", config)
    assert sorted(shards) == [("ch-s1-r1", "01"), ("ch-s1-r2", "01"), ("ch-s2-r1", "02"), ("ch-s2-r2", "02")]
    assert "migrate --cluster analytics_cluster" in " ".join(re.findall(r"- (\S+)", config)) or \
        re.search(r"- migrate\n\s+- --cluster\n\s+- analytics_cluster", config)
    cluster = ET.parse(ROOT / "deploy" / "cluster" / "clickhouse" / "cluster.xml").getroot()
    replicas = [[r.findtext("host") for r in s.iter("replica")] for s in cluster.iter("shard")
                if s.find("internal_replication") is not None]
    assert replicas == [["ch-s1-r1", "ch-s1-r2"], ["ch-s2-r1", "ch-s2-r2"]]
    upstream = (ROOT / "deploy" / "cluster" / "nginx" / "nginx.conf").read_text()
    assert "server collector1:8000" in upstream and "server collector2:8000" in upstream
    assert "access_log off" in upstream


def grants(store: Store) -> list[tuple[str, set[str], str, str]]:
    """(user, privileges, database, table) of every grant in the users file, as the engine's parser reads it."""
    out = []
    for user in ET.parse(USERS).getroot().find("users") or []:
        for query in user.iter("query"):
            statement = f"{query.text} TO {user.tag}"
            formatted = store.query("SELECT formatQuery({q:String})", {"q": statement})[0][0]
            match = _GRANT.match(formatted)
            assert match, formatted
            privileges, database, table, grantee = match.groups()
            assert grantee == user.tag
            out.append((grantee, {p.strip() for p in privileges.split(",")}, database, table))
    return out


def allowed(rules: list[tuple[str, set[str], str, str]], user: str, privilege: str, obj: str) -> bool:
    database, table = obj.split(".")
    return any(u == user and (privilege in p or "ALL" in p) and d in (database, "*") and t in (table, "*")
               for u, p, d, t in rules)


def test_each_user_may_do_its_job_and_nothing_else(session_store: Store) -> None:
    rules = grants(session_store)
    assert {u for u, *_ in rules} == {"admin", "ingest", "dashboard"}
    assert not allowed(rules, "ingest", "SELECT", "analytics.events")
    assert all(allowed(rules, "ingest", "INSERT", t) for t in ("analytics.events", "analytics.event_ids",
                                                               "analytics.consent_receipts", "analytics.dropped_daily"))
    assert allowed(rules, "ingest", "SELECT", "analytics.event_ids")  # the duplicate check: keys, no visitor
    # Exactly the tables the writer inserts into (collector/writer.py), nothing more.
    assert {f"{d}.{t}" for u, p, d, t in rules if u == "ingest" and "INSERT" in p} == set(writer.TABLES)
    assert not any(d != "analytics" for u, _, d, _ in rules if u == "ingest")  # on analytics only
    assert not any(allowed(rules, "dashboard", p, t) for p in ("INSERT", "ALTER", "CREATE", "DROP")
                   for t in ("analytics.events", "analytics.read_pages", "analytics.pages_daily"))
    assert not allowed(rules, "dashboard", "SELECT", "analytics.events")
    assert not allowed(rules, "dashboard", "SELECT", "analytics.pages_daily")
    assert {f"{d}.{t}" for u, _, d, t in rules if u == "dashboard"} == READ_OBJECTS  # the read role's list
    assert allowed(rules, "admin", "CREATE", "analytics.events")
    assert allowed(rules, "admin", "INSERT", "analytics_meta.migrations")


def test_no_passwordless_user_and_views_run_as_their_definer() -> None:
    root = ET.parse(USERS).getroot()
    users = root.find("users")
    assert users is not None
    default = users.find("default")
    assert default is not None and default.get("remove") == "remove"
    for user in users:
        if user.tag != "default":
            assert user.find("password").get("from_env"), user.tag  # type: ignore[union-attr]
            assert user.find("no_password") is None
    admin_profile = root.find("profiles/collector_admin")
    assert admin_profile is not None and admin_profile.findtext("default_normal_view_sql_security") == "DEFINER"
    assert root.findtext("profiles/collector_dashboard/readonly") in ("1", "2")


def test_system_log_tables_are_bounded_by_ttl() -> None:
    config = ET.parse(SYSTEM_LOGS).getroot()
    kept = [log for log in config if log.get("remove") != "remove"]
    assert {log.tag for log in kept} >= {"query_log", "part_log", "trace_log", "metric_log", "text_log"}
    for log in kept:
        assert re.fullmatch(r"event_date \+ INTERVAL \d+ DAY DELETE", log.findtext("ttl") or ""), log.tag


def test_the_writers_own_user_is_a_server_setting() -> None:
    server = "http://admin:x@clickhouse:8123/analytics"
    ingest = "http://ingest:y@clickhouse:8123/analytics"
    assert from_env({"CLICKHOUSE_URL": server, "CLICKHOUSE_INGEST_URL": ingest}).clickhouse_ingest_url == ingest
    assert from_env({"CLICKHOUSE_URL": server}).clickhouse_ingest_url is None
    with pytest.raises(SettingsError, match="CLICKHOUSE_INGEST_URL is set without CLICKHOUSE_URL"):
        from_env({"CLICKHOUSE_INGEST_URL": ingest})
