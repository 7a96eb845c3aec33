"""Acceptance (g): `collector move --to URL` copies a populated embedded store to a server, resumes after an
interruption without doubling anything, and the server then answers every dashboard query as the store did.

No ClickHouse server runs in the test suite: the server is a stand-in, another collector process (started
here, stopped by its PID) whose `/sql` speaks ClickHouse's HTTP interface over its own engine, reached by
clickhouse-connect's HTTP client with `proxy_path=/sql`, as the admin. The source store is built and read in
processes of their own (tests/move_source.py): chDB opens one store per process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from live import ROOT, Collector
from move_source import SITE, answers_of

from collector.move import connect

SOURCE = Path(__file__).resolve().parent / "move_source.py"
TOKEN = "move-admin-token"
# The interrupted run: small chunks, and the process ends abruptly (no cleanup, as a kill) in the middle of
# pages_hourly, after events and before every rollup: staging holds part of a partition, nothing replaced.
INTERRUPTED = """
import os, sys
from collector import move
from collector.settings import Settings
from collector.store import Store, open_store

class Killed(move.Bar):
    chunks = 0
    def chunk(self, table, partition, rows):
        super().chunk(table, partition, rows)
        if table == "pages_hourly":
            Killed.chunks += 1
            if Killed.chunks == 3:
                os._exit(3)

source = open_store(Settings(data_dir=__import__("pathlib").Path(sys.argv[1])))
move.run(source, Store(move.connect(sys.argv[2]), embedded=False), bar_for=Killed, chunk_rows=500)
"""


def _source(command: str, data_dir: Path) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run([sys.executable, str(SOURCE), command, str(data_dir)], cwd=ROOT, capture_output=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return result


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("move") / "source"
    _source("populate", data_dir)
    return data_dir, orjson.loads(_source("answers", data_dir).stdout)


def _move(target: Collector, data_dir: Path) -> subprocess.CompletedProcess[str]:
    target.env["COLLECTOR_DATA_DIR"] = str(data_dir)  # the CLI moves the store of this data dir
    try:
        return target.cli("move", "--to", _url(target))
    finally:
        target.env["COLLECTOR_DATA_DIR"] = str(target.data_dir)


def _url(target: Collector) -> str:
    return f"http://admin:{TOKEN}@127.0.0.1:{target.port}/analytics?proxy_path=/sql"


def test_interrupted_move_resumes_and_the_server_answers_as_the_store(
        source: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    data_dir, before = source
    (tmp_path / "sites.toml").write_text(f'[sites."{SITE}"]\ndomains = ["{SITE}"]\n')
    target = Collector(tmp_path, COLLECTOR_ADMIN_TOKEN=TOKEN).start()
    try:
        killed = subprocess.run([sys.executable, "-c", INTERRUPTED, str(data_dir), _url(target)], cwd=ROOT,
                                capture_output=True, text=True, timeout=300)
        assert killed.returncode == 3, killed.stderr[-2000:]
        server = connect(_url(target))
        partial = dict(server.query("SELECT table, count() FROM analytics_meta.moved_partitions WHERE done "
                                    "GROUP BY table").result_rows)
        assert partial.get("events") and "pages_hourly" not in partial  # killed between the two
        assert server.command("SELECT count() FROM analytics.pages_hourly") == 0  # the staged rows wait

        resumed = _move(target, data_dir)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "events 20" in resumed.stderr and "already on the server" in resumed.stderr
        assert "MISMATCH" not in resumed.stdout
        counts = {line.split("\t")[0]: line.split("\t")[1:] for line in resumed.stdout.splitlines()[1:]}
        assert counts["events"] == ["5000", "5000"] and counts["visits_daily"][0] == counts["visits_daily"][1]

        after = orjson.loads(orjson.dumps(answers_of(server), default=str))
        assert after["counts"] == before["counts"]  # every table, FINAL where the engine folds rows
        assert all(before["counts"][t] for t in ("events", "pages_hourly", "visits_daily", "consent_receipts"))
        for name, rows in before["dashboards"].items():
            assert after["dashboards"][name] == rows, name
        assert server.command("SELECT count() FROM analytics_meta.daily_salts") == 2  # today's and yesterday's
        assert server.command("SELECT count() FROM system.databases WHERE name = 'analytics_move'") == 0  # staging gone

        server.command("INSERT INTO analytics.events (site, ts, type, retention_days) "
                       "VALUES ('other.example', '2021-01-01', 'pageview', 9999)")
        refused = _move(target, data_dir)  # a row the move did not copy: a replace would drop it
        assert refused.returncode == 1 and "already holds rows this move did not copy" in refused.stderr
    finally:
        assert target.stop() == 0
