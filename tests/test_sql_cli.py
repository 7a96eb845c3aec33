"""Acceptance (e): `collector sql "… FORMAT JSONEachRow"` works with a running server (through its /sql, as the
admin) and without one (on the embedded store directly); without the admin token a held store is explained."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
from conftest import FIREFOX
from live import Collector

QUERY = "SELECT path, count() AS n FROM analytics.events GROUP BY path ORDER BY path FORMAT JSONEachRow"


def test_sql_with_and_without_a_running_server(tmp_path: Path) -> None:
    collector = Collector(tmp_path, COLLECTOR_ADMIN_TOKEN="cli-admin-token").start()
    try:
        body = orjson.dumps([{"site": "test.example", "type": "pageview", "url": f"https://test.example/{p}",
                              "consent": {}} for p in ("a", "b", "b")])
        sent = httpx.post(f"{collector.url}/api/event", content=body,
                          headers={"content-type": "application/json", "user-agent": FIREFOX})
        assert sent.status_code == 202
        expected = [{"path": "/a", "n": 1}, {"path": "/b", "n": 2}]
        rows: list[object] = []
        for _ in range(20):  # the writer stores the rows within its flush interval: ask until they are there
            through_server = collector.cli("sql", QUERY, "--url", collector.url)
            assert through_server.returncode == 0, through_server.stderr
            rows = [orjson.loads(line) for line in through_server.stdout.splitlines()]
            if rows == expected:
                break
        assert rows == expected
        as_json = collector.cli("sql", "SELECT 1 AS one", "--format", "json", "--url", collector.url)
        assert orjson.loads(as_json.stdout) == [{"one": 1}]
        failed = collector.cli("sql", "SELECT nope", "--url", collector.url)
        assert failed.returncode == 1 and failed.stderr.startswith("collector: query failed: Code: 47.")
        collector.env.pop("COLLECTOR_ADMIN_TOKEN")
        locked = collector.cli("sql", QUERY, "--url", collector.url)
        assert locked.returncode == 2 and "COLLECTOR_ADMIN_TOKEN" in locked.stderr
    finally:
        assert collector.stop() == 0
    direct = collector.cli("sql", QUERY)
    assert direct.returncode == 0, direct.stderr
    assert [orjson.loads(line) for line in direct.stdout.splitlines()] == expected
