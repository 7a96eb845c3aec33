"""The README's promises, run as written: command 1, its curl example, `collector sql`, command 2 in CI."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _code_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, re.S)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "collector", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited during start-up"
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not become ready")


def test_readme_command_1_curl_and_sql(tmp_path: Path) -> None:
    blocks = _code_blocks()
    command_1 = blocks[0]
    curl = next(b for b in blocks if b.startswith("curl -i http://127.0.0.1:8000/api/event"))
    queries = next(b for b in blocks if b.startswith(".venv/bin/collector sql"))
    assert command_1.strip().endswith("collector serve")
    port = free_port()
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(tmp_path / "data")}
    env.pop("COLLECTOR_CONFIG", None)  # command 1 serves the demo site
    server = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", server)
        out = subprocess.run(shlex.split(curl.strip().replace(":8000", f":{port}")), capture_output=True,
                             text=True, timeout=30).stdout
        assert "202" in out.splitlines()[0] and '{"accepted":1,"dropped":{}}' in out
        locked = _cli("sql", "SELECT 1", env=env)
        assert locked.returncode == 2 and "already running" in locked.stderr
        assert "Traceback" not in locked.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0
    # The first run prints, once, how to log in to the dashboard, with a password from the data dir.
    password = (tmp_path / "data" / "demo-login").read_text().strip()
    hints = [line for line in stderr.splitlines() if b"demo dashboard" in line]
    assert len(hints) == 1 and password.encode() in hints[0]
    assert b"jane@example.com" not in stderr and b"Firefox" not in stderr
    raw_query, rollup_query = [shlex.split(line)[-1] for line in queries.strip().splitlines()]
    raw = _cli("sql", raw_query, env=env)
    assert raw.returncode == 0, raw.stderr
    header, row = raw.stdout.strip().splitlines()
    assert row.split("\t")[1:] == ["pageview", "/pricing", "newsletter", "news.example", "", "Firefox", "desktop",
                                   "anonymous"]
    rollup = _cli("sql", rollup_query, env=env)
    assert rollup.stdout.strip().splitlines()[1].split("\t")[1:] == ["/pricing", "1", "1"]
    everything = _cli("sql", "SELECT * FROM analytics.events FORMAT TSV", env=env).stdout
    assert "jane" not in everything and "127.0.0.1" not in everything


def test_sql_reports_query_errors_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(tmp_path / "data")}
    result = _cli("sql", "SELECT nope FROM analytics.events", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("collector: query failed") and "Traceback" not in result.stderr


def test_sql_json_format(tmp_path: Path) -> None:
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(tmp_path / "data")}
    result = _cli("sql", "SELECT 1 AS one", "--format", "json", env=env)
    assert result.returncode == 0 and '"one": 1' in result.stdout


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(tmp_path / "data")}
    first, second = _cli("migrate", env=env), _cli("migrate", env=env)
    assert first.returncode == 0 and "001_events" in first.stdout
    assert second.stdout.strip() == "applied 0 migration(s)"


def test_bad_config_fails_start_up_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "sites.toml"
    config.write_text('[sites."a.example"]\nretention_dayz = 3\n')
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(tmp_path / "data"), "COLLECTOR_CONFIG": str(config)}
    result = _cli("serve", "--port", str(free_port()), env=env)
    assert result.returncode == 2
    assert "'retention_dayz' is not a known setting" in result.stderr


def test_ci_runs_the_readme_test_command() -> None:
    command_2 = next(b for b in _code_blocks() if "pytest" in b).strip()
    assert "pytest" in command_2
    assert command_2 in (ROOT / ".ci" / "run").read_text()


def test_grafana_reads_through_the_door_never_as_the_admin() -> None:
    """The compose files themselves are checked in tests/test_deploy.py."""
    text = (ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "collector.yaml").read_text()
    assert "type: grafana-clickhouse-datasource" in text and "path: /sql" in text and "protocol: http" in text
    assert "admin" not in re.findall(r"username: (\S+)", text)[0]
