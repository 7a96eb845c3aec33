"""Grafana provisioning: the datasource reaches /sql over http as a dashboard user (never the admin), the
compose service is pinned, and every dashboard query (with Grafana's macros expanded as the plugin does) runs
through the door."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from conftest import Api, event
from sql_fixtures import ok_text, sql_api  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "deploy" / "grafana"


def _expand(sql: str) -> str:
    """The plugin's macros for a 30-day range and the site variable."""
    return sql.replace("${site}", "test.example").replace(
        "$__dateFilter(day)", "day >= toDate(now() - INTERVAL 30 DAY) AND day <= toDate(now())")


def test_datasource_is_the_sql_door_as_a_dashboard_user() -> None:
    text = (GRAFANA / "provisioning" / "datasources" / "collector.yaml").read_text()
    assert "type: grafana-clickhouse-datasource" in text and "path: /sql" in text and "protocol: http" in text
    assert "admin" not in re.findall(r"username: (\S+)", text)[0]


def test_compose_pins_grafana_and_mounts_the_provisioning() -> None:
    result = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    image = re.search(r"image: grafana/grafana:(\S+)", result.stdout)
    assert image and image.group(1) != "latest"
    assert re.search(r"grafana-clickhouse-datasource \d+\.\d+\.\d+", result.stdout)
    assert "/etc/grafana/provisioning" in result.stdout


def test_every_dashboard_query_runs_through_the_door(sql_api: Api) -> None:  # noqa: F811
    sql_api.send([event(url=f"https://test.example/{p}") for p in ("a", "b", "b")])
    sql_api.flush()
    dashboard = json.loads((GRAFANA / "dashboards" / "collector-overview.json").read_text())
    queries = [t["rawSql"] for p in dashboard["panels"] for t in p["targets"]]
    queries += [v["query"] for v in dashboard["templating"]["list"]]
    titles = [p["title"] for p in dashboard["panels"]]
    assert titles == ["Visitors and views", "Top pages", "Sources", "Countries", "Devices"]
    answers = {sql: ok_text(sql_api, "analyst", _expand(sql)) for sql in queries}
    assert answers[queries[1]].splitlines()[0].split("\t")[:2] == ["/b", "2"]
    assert answers[queries[-1]] == "test.example\n"
