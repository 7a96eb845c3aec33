"""Writes collector-overview.json from the dashboard SQL in schemas/dashboards (one query per file), with the
queries' parameters replaced by Grafana's: the site variable, and the time picker's range as dates.

    python deploy/grafana/build_dashboard.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SQL = ROOT / "schemas" / "dashboards"
OUT = Path(__file__).resolve().parent / "dashboards" / "collector-overview.json"
DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": "collector-sql"}
GRAFANA = {"{site:String}": "'${site}'", "{from:Date}": "'${__from:date:YYYY-MM-DD}'",
           "{to:Date}": "'${__to:date:YYYY-MM-DD}'"}
# (panel type, title, dashboard SQL file, position); time series read the day column as their time.
PANELS = [
    ("timeseries", "Visitors and views", "01_visitors_over_time.sql", {"x": 0, "y": 0, "w": 24, "h": 9}),
    ("table", "Top pages", "02_top_pages.sql", {"x": 0, "y": 9, "w": 12, "h": 10}),
    ("table", "Sources", "05_sources.sql", {"x": 12, "y": 9, "w": 12, "h": 10}),
    ("table", "Countries", "07_countries.sql", {"x": 0, "y": 19, "w": 12, "h": 10}),
    ("table", "Devices", "12_devices.sql", {"x": 12, "y": 19, "w": 12, "h": 10}),
]


def grafana_sql(name: str, time_series: bool) -> str:
    text = " ".join(line for line in (SQL / name).read_text().splitlines() if not line.startswith("--"))
    for parameter, variable in GRAFANA.items():
        text = text.replace(parameter, variable)
    text = re.sub(r"\s+", " ", text).strip()
    if time_series:
        text = (f"SELECT toDateTime(toDate(day)) AS time, visitors, pageviews FROM ({text}) "
                "WHERE day != '(other)' ORDER BY time")
    return text


def dashboard() -> dict[str, object]:
    return {
        "uid": "collector-overview", "title": "Collector: overview", "tags": ["collector"], "schemaVersion": 39,
        "version": 1, "editable": True, "timezone": "utc", "refresh": "5m",
        "description": "The dashboard SQL of schemas/dashboards through the collector's /sql door, as a read user.",
        "time": {"from": "now-30d", "to": "now"},
        "templating": {"list": [{"name": "site", "label": "Site", "type": "custom", "query": "demo.example",
                                 "current": {"text": "demo.example", "value": "demo.example"}}]},
        "panels": [{"id": n + 1, "type": kind, "title": title, "gridPos": pos, "datasource": DATASOURCE,
                    "targets": [{"datasource": DATASOURCE, "editorType": "sql", "queryType": "sql", "refId": "A",
                                 "format": 0 if kind == "timeseries" else 1,
                                 "rawSql": grafana_sql(name, kind == "timeseries")}]}
                   for n, (kind, title, name, pos) in enumerate(PANELS)],
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(dashboard(), indent=2) + "\n")
