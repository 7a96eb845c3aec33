"""Browser fixtures: the collector on a real port, a static site on another port, a node driver.

The test pages live in `pages/` and are served by a tiny threaded HTTP server on 127.0.0.1, so the
tracker posts cross-origin to the collector exactly as on a real site. A page URL is
`/<variant>/<file>`: the variant picks the tracker's data-attributes (VARIANTS); unknown files
fall back to index.html, like a single-page app's server does.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from collector.settings import Settings

HERE = Path(__file__).resolve().parent
PAGES = HERE / "pages"
ROOT = HERE.parent.parent
DRIVER = HERE / "drive.mjs"
DRIVER_TIMEOUT_S = 120

# Sites the browser tests need besides the shared test config's "browser.test".
EXTRA_SITES = """
[sites."browser-gpc.test"]
domains = ["127.0.0.1", "localhost"]
gpc = "denied"
"""
BROWSER_SITE = """
[sites."browser.test"]
domains = ["127.0.0.1", "localhost"]
gpc = "anonymous"
"""

# Tracker data-attributes per page variant; {dead} is a collector URL nobody listens on.
VARIANTS = {
    "core": 'data-site="browser.test" data-local data-heatmap data-forms',
    "consent": 'data-site="browser.test" data-local',
    "withdraw": 'data-site="browser.test" data-local data-policy="2026-11"',
    "gpc": 'data-site="browser.test" data-local data-consent="granted"',
    "gpcdeny": 'data-site="browser-gpc.test" data-local',
    "throws": 'data-site="browser.test" data-local',
    "dead": 'data-site="browser.test" data-local data-heatmap data-forms data-api="{dead}/api/event"',
    "local": 'data-site="browser.test"',
    "excl": 'data-site="browser.test" data-local data-exclude="/excl/private*, /excl/admin"',
    "hash": 'data-site="browser.test" data-local data-hash',
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with the browser sites added to its sites config."""
    text = settings.config_path.read_text()
    if '[sites."browser.test"]' not in text:
        text += BROWSER_SITE
    path = settings.config_path.with_name("browser-sites.toml")
    path.write_text(text + EXTRA_SITES)
    return replace(settings, config_path=path)


def closed_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago and that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Pages(SimpleHTTPRequestHandler):
    """Serves pages/ with the tracker tag of the path's variant filled in."""

    collector = ""
    dead = ""
    port = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        variant, name = parts[0], parts[-1]
        if variant == "favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        if variant not in VARIANTS:
            self.send_error(404)
            return
        file = PAGES / name if name in ("throws.html", "landing.html") else PAGES / "index.html"
        attrs = VARIANTS[variant].format(dead=self.dead)
        tag = f'<script defer src="{self.collector}/t.js" {attrs}></script>'
        body = (file.read_text().replace("{{tracker}}", tag)
                .replace("{{outbound}}", f"http://localhost:{self.port}/{variant}/landing.html")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Site:
    url: str


@pytest.fixture
def static_site(collector_server: Any) -> Iterator[Site]:
    """The test pages on their own 127.0.0.1 port, loading t.js from the live collector."""
    handler = type("Pages", (_Pages,), {"collector": collector_server.url,
                                        "dead": f"http://127.0.0.1:{closed_port()}"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(PAGES)))
    handler.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(url=f"http://127.0.0.1:{handler.port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium not found: run .ci/browser-deps.sh, or set CHROMIUM to its path")
    return path


@pytest.fixture
def drive(static_site: Site) -> Any:
    """Run scenarios of drive.mjs in one browser; returns {scenario: result}, failing on driver errors."""

    def run(*scenarios: str) -> dict[str, Any]:
        request = {"chromium": chromium_path(), "site": static_site.url, "scenarios": list(scenarios)}
        proc = subprocess.run(["node", str(DRIVER)], input=json.dumps(request), capture_output=True,
                              text=True, cwd=ROOT, timeout=DRIVER_TIMEOUT_S, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"drive.mjs failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        results: dict[str, Any] = json.loads(proc.stdout)
        for name, result in results.items():
            assert result["ok"], f"scenario {name} failed:\n{result.get('failure')}\nconsole: {result['console']}"
            assert_schema_valid(result["posts"])
        return results

    return run


_VALIDATOR = jsonschema_rs.validator_for(json.loads((ROOT / "schemas" / "event.schema.json").read_text()))


def events(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event the tracker sent in a scenario, in order."""
    return [e for post in result["posts"] for e in (post["body"] if isinstance(post["body"], list) else [post["body"]])]


def assert_schema_valid(posts: list[dict[str, Any]]) -> None:
    """Every captured request body is a JSON array of at most 100 events that conform to the schema."""
    for post in posts:
        body = post["body"]
        assert isinstance(body, list) and 0 < len(body) <= 100, f"bad batch: {str(body)[:300]}"
        for item in body:
            errors = [f"{list(e.instance_path)}: {e.message}" for e in _VALIDATOR.iter_errors(item)]
            assert not errors, f"event does not match the schema: {item}\n{errors}"


def tracker_errors(result: dict[str, Any]) -> list[Any]:
    """Console errors and uncaught page errors that come from t.js."""
    found = [e for e in result["errors"] if "/t.js" in e["stack"]]
    found += [m for m in result["console"] if m["type"] == "error" and "/t.js" in m["url"]]
    return found
