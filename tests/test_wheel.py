"""The wheel, as a user gets it: build it, install it into a fresh venv, and migrate, serve, ingest and query
from the installed copy (run outside the checkout, so nothing is read from it).

What "installs" means here: the wheel is installed by pip, without its dependencies, into a fresh venv
that also sees this suite's site-packages through a .pth file, and `pip check` then proves every
requirement the wheel declares is met. That tests what broke before (files missing from the wheel,
paths that only exist in a checkout) without downloading the engine again; the Dockerfile installs
the same wheel with its dependencies from the index."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from pathlib import Path

import httpx
import pytest
from conftest import FIREFOX, free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheelhouse")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (found,) = out.glob("privacy_collector-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin directory."""
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    suite = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    # Appended after the venv's own site-packages: the wheel's copy of `collector` wins over the suite's.
    (Path(site) / "suite_dependencies.pth").write_text("\n".join(sorted(suite)) + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--quiet", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    return home / "bin"


def test_the_wheel_carries_every_module_and_the_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "collector").rglob("*.py")}
    assert modules <= names, f"missing from the wheel (list the package in pyproject.toml): {modules - names}"
    schemas = {"collector/" + str(p.relative_to(ROOT)) for p in (ROOT / "schemas").rglob("*")
               if p.is_file() and p.suffix in {".json", ".sql"}}
    assert "collector/schemas/event.schema.json" in schemas and schemas <= names, schemas - names
    assert not any(name.startswith("schemas/") for name in names), "no top-level schemas package"


def test_installed_wheel_migrates_serves_ingests_and_queries(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLECTOR_", "CLICKHOUSE_"))}
    env |= {"COLLECTOR_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ""}
    run = lambda *args: subprocess.run([str(installed / "collector"), *args], cwd=tmp_path, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=180)
    where = subprocess.run([str(installed / "python"), "-c", "import collector.settings as s; print(s.SCHEMAS_DIR)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(installed.parent)), where
    check = subprocess.run([str(installed / "python"), "-m", "pip", "check"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert "privacy-collector" not in check.stdout.lower().replace("_", "-"), check.stdout

    migrated = run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    count = len(list((ROOT / "schemas" / "clickhouse").glob("*.sql")))
    assert migrated.stdout.startswith(f"applied {count} migration(s)"), migrated.stdout

    port = free_port()
    server = subprocess.Popen([str(installed / "collector"), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, server)
        headers = {"Origin": "https://demo.example", "User-Agent": FIREFOX}
        sent = httpx.post(f"{url}/api/event", timeout=10, headers=headers,
                          json={"site": "demo.example", "type": "pageview", "url": "https://demo.example/wheel",
                                "consent": {}})
        assert sent.status_code == 202 and sent.json()["accepted"] == 1, sent.text
        assert httpx.get(f"{url}/privacy/inventory", timeout=10).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr.decode()[-2000:]
    queried = run("sql", "SELECT path FROM analytics.events")
    assert queried.returncode == 0, queried.stderr
    assert queried.stdout.split() == ["path", "/wheel"]


def test_migrate_fails_loudly_when_the_install_lost_its_migrations(installed: Path, tmp_path: Path) -> None:
    """A broken install (the DDL missing) must not report "applied 0 migration(s)" and exit 0."""
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ""}
    locate = "import collector.store as s; print(s.MIGRATIONS_DIR)"
    ddl = Path(subprocess.run([str(installed / "python"), "-c", locate], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=True).stdout.strip())
    aside = ddl.with_name("clickhouse.aside")
    ddl.rename(aside)
    ddl.mkdir()
    try:
        result = subprocess.run([str(installed / "collector"), "migrate"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
    finally:
        ddl.rmdir()
        aside.rename(ddl)
    assert result.returncode == 2 and "no migration files" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "applied" not in result.stdout


def test_the_image_installs_the_wheel_as_a_non_root_user_and_checks_readiness() -> None:
    """The Dockerfile cannot be built here (no engine); its promises are checked as text, and compose builds it."""
    recipe = (ROOT / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", recipe, re.M)
    assert bases and all(re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", b) for b in bases), bases
    assert re.search(r"^USER (?!root|0)\w+", recipe, re.M)
    assert re.search(r"^RUN pip wheel .* \.$", recipe, re.M) and "pip install --no-cache-dir /wheels/" in recipe
    assert re.search(r"^HEALTHCHECK .*/readyz", recipe, re.M | re.S)
    compose = (ROOT / "docker-compose.yml").read_text()
    service = compose[compose.index("  collector:"):]
    assert "build: ." in service and "pip install" not in service


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the installed collector exited during start-up"
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the installed collector did not become ready")
