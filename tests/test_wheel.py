"""The wheel, as a user gets it: build it, install it into a fresh venv with its run-time dependencies
only, and migrate, serve (one process, and `--workers 2`), ingest and query from the installed copy (run
outside the checkout, so nothing is read from it).

What "installs" means here: pip installs the wheel, without dependencies, into a fresh venv; its
run-time dependencies are the closure of the wheel's own `Requires-Dist` (extras such as
`uvicorn[standard]` followed, the `test` extra never), taken from this suite's installed copies and
linked into one directory the venv's .pth file names: nothing the tests install besides is importable
there (a test proves `pytest` and `hypothesis` are not), and `pip check` proves every requirement the
wheel declares is met. That catches a module imported at run time but declared only as a test extra
(httpx, which `serve --workers N` needs, once was), files missing from the wheel and paths that only
exist in a checkout, without downloading the engine (500 MB) again on every run; the Dockerfile
installs the same wheel with its dependencies from the index."""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import signal
import subprocess
import sys
import time
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import httpx
import pytest
from conftest import FIREFOX, free_port
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


def runtime_closure(requires: list[str]) -> list[metadata.Distribution]:
    """The installed distributions the requirements need at run time: each requirement whose marker
    holds without an extra (or with the extras it names), followed transitively."""
    found: dict[str, metadata.Distribution] = {}
    todo = [(Requirement(r), "") for r in requires]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        dist = metadata.distribution(req.name)
        name = canonicalize_name(dist.metadata["Name"])
        extras = sorted(req.extras)
        if name in found and not extras:
            continue
        found[name] = dist
        for line in dist.requires or []:
            todo += [(Requirement(line), e) for e in ["", *extras]]
    return list(found.values())


def link_runtime(dists: list[metadata.Distribution], into: Path) -> None:
    """Link each distribution's top-level files (packages, modules, .dist-info, bundled libraries)."""
    into.mkdir()
    for dist in dists:
        site = Path(str(dist.locate_file("")))
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            if top not in ("..", "__pycache__") and not (into / top).exists() and (site / top).exists():
                (into / top).symlink_to(site / top)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its run-time dependencies only; returns its bin directory."""
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    requires = Parser().parsestr(zipfile.ZipFile(wheel).read(
        next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA"))).decode())
    runtime = home / "runtime-dependencies"
    link_runtime(runtime_closure(requires.get_all("Requires-Dist") or []), runtime)
    # Appended after the venv's own site-packages: the wheel's copy of `collector` is the one imported.
    (Path(site) / "runtime_dependencies.pth").write_text(f"{runtime}\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--quiet", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    return home / "bin"


def clean_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLECTOR_", "CLICKHOUSE_"))}
    return env | {"COLLECTOR_DATA_DIR": str(data), "PYTHONPATH": ""}


def test_the_venv_holds_run_time_dependencies_only(installed: Path, tmp_path: Path) -> None:
    probe = "import importlib.util as u; print([m for m in ('pytest', 'hypothesis', 'httpx') if u.find_spec(m)])"
    seen = subprocess.run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=clean_env(tmp_path),
                          capture_output=True, text=True, check=True).stdout.strip()
    assert seen == "['httpx']", seen  # httpx is a run-time dependency; the test extra is not installed


def test_the_wheel_carries_every_module_and_the_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "collector").rglob("*.py")}
    assert modules <= names, f"missing from the wheel (list the package in pyproject.toml): {modules - names}"
    schemas = {"collector/" + str(p.relative_to(ROOT)) for p in (ROOT / "schemas").rglob("*")
               if p.is_file() and p.suffix in {".json", ".sql"}}
    assert "collector/schemas/event.schema.json" in schemas and schemas <= names, schemas - names
    assert not any(name.startswith("schemas/") for name in names), "no top-level schemas package"


def test_installed_wheel_migrates_serves_ingests_and_queries(installed: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path / "data")
    run = lambda *args: subprocess.run([str(installed / "collector"), *args], cwd=tmp_path, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=180)
    where = subprocess.run([str(installed / "python"), "-c", "import collector.settings as s; print(s.SCHEMAS_DIR)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(installed.parent)), where
    check = subprocess.run([sys.executable, "-m", "pip", "--python", str(installed / "python"), "check"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
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


def test_installed_wheel_serves_with_workers_and_stores_through_the_owner(installed: Path, tmp_path: Path) -> None:
    """`serve --workers 2` from the wheel: the store owner and two workers start, an event sent to the
    public port is stored (seen through /sql, which a worker streams to the owner with httpx)."""
    token = "wheel-admin-token-0123456789abcdef"
    env = clean_env(tmp_path / "data") | {"COLLECTOR_ADMIN_TOKEN": token, "COLLECTOR_FLUSH_INTERVAL_MS": "100",
                                          "COLLECTOR_SHUTDOWN_DRAIN_MS": "0"}
    port = free_port()
    server = subprocess.Popen([str(installed / "collector"), "serve", "--port", str(port), "--workers", "2"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stored = ""
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, server)
        headers = {"Origin": "https://demo.example", "User-Agent": FIREFOX}
        sent = httpx.post(f"{url}/api/event", timeout=10, headers=headers, json={
            "site": "demo.example", "type": "pageview", "url": "https://demo.example/workers", "consent": {}})
        assert sent.status_code == 202 and sent.json()["accepted"] == 1, sent.text
        deadline = time.monotonic() + 60
        while stored != "1" and time.monotonic() < deadline:
            answer = httpx.get(f"{url}/sql", auth=("admin", token), timeout=10, params={
                "query": "SELECT count() FROM analytics.events WHERE path = '/workers'"})
            assert answer.status_code == 200, answer.text
            stored = answer.text.strip()
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=90)
    assert stored == "1"
    assert server.returncode == 0, stderr.decode()[-2000:]
    assert b"ModuleNotFoundError" not in stderr


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
