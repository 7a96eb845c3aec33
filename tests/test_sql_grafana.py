"""Grafana provisioning: the datasource reaches /sql over http as a dashboard user (never the admin), the
compose service is pinned, and every dashboard query (with Grafana's macros expanded as the plugin does) runs
through the door."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import Api, event
from sql_fixtures import ok_text, sql_api  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "deploy" / "grafana"
sys.path.insert(0, str(GRAFANA))
import build_dashboard  # noqa: E402


def _expand(sql: str) -> str:
    """Grafana's variables as the plugin interpolates them: the site and the time picker's range."""
    return sql.replace("${site}", "test.example").replace("${__from:date:YYYY-MM-DD}", "2000-01-01").replace(
        "${__to:date:YYYY-MM-DD}", "2100-01-01")


def test_datasource_is_the_sql_door_as_a_dashboard_user() -> None:
    text = (GRAFANA / "provisioning" / "datasources" / "collector.yaml").read_text()
    assert "type: grafana-clickhouse-datasource" in text and "path: /sql" in text and "protocol: http" in text
    assert "admin" not in re.findall(r"username: (\S+)", text)[0]


def test_compose_pins_grafana_and_mounts_the_provisioning() -> None:
    secrets = {name: "x" for name in ("CLICKHOUSE_ADMIN_PASSWORD", "CLICKHOUSE_INGEST_PASSWORD",
                                      "CLICKHOUSE_DASHBOARD_PASSWORD", "COLLECTOR_ADMIN_TOKEN",
                                      "GRAFANA_ADMIN_PASSWORD")}
    result = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
                            capture_output=True, text=True, timeout=60, env={**os.environ, **secrets})
    assert result.returncode == 0, result.stderr
    image = re.search(r"image: grafana/grafana:(\S+)", result.stdout)
    assert image and image.group(1) != "latest"
    assert re.search(r"grafana-clickhouse-datasource \d+\.\d+\.\d+", result.stdout)
    assert "/etc/grafana/provisioning" in result.stdout


def test_every_dashboard_query_runs_through_the_door_as_the_read_user(sql_api: Api) -> None:  # noqa: F811
    sql_api.send([event(url=f"https://test.example/{p}") for p in ("a", "b", "b")])
    sql_api.flush()
    dashboard = json.loads((GRAFANA / "dashboards" / "collector-overview.json").read_text())
    assert dashboard == build_dashboard.dashboard()  # the file is what the builder writes from schemas/dashboards
    titles = [p["title"] for p in dashboard["panels"]]
    assert titles == ["Visitors and views", "Top pages", "Sources", "Countries", "Devices"]
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            ok_text(sql_api, "reader", _expand(target["rawSql"]))
