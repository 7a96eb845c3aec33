"""Browser test harness: the collector on a real port, a static site on another port, a node driver.

(Not a conftest.py: the shared tests import names from tests/conftest.py as module `conftest`, which a
second conftest module would shadow. The fixtures that use this live in test_tracker_browser.py.)

The test pages live in `pages/` and are served by a tiny threaded HTTP server on 127.0.0.1, so the
tracker loads t.js from the collector and posts to it cross-origin, exactly as on a real site. A page
URL is `/<variant>/<file>`: the variant picks the tracker's data-attributes (VARIANTS); unknown
files fall back to index.html, as a single-page app's server does.

Every body the collector receives is recorded by a pass-through ASGI middleware (`Recorder`): the
driver waits on it, and the tests validate every recorded event against the schema. Recording at the
server, not in the browser, also catches the beacons a page sends while it unloads, which leave from
the browser process where Playwright's request events no longer see them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema_rs
from conftest import free_port, serve

from collector.settings import Settings

HERE = Path(__file__).resolve().parent
PAGES = HERE / "pages"
ROOT = HERE.parent.parent
DRIVER = HERE / "drive.mjs"
DRIVER_TIMEOUT_S = 600  # a bound for a stuck driver; each wait inside it has its own 60 s deadline
RECORDED_PATH = "/__recorded"

BROWSER_SITES = {
    "browser.test": '[sites."browser.test"]\ndomains = ["127.0.0.1", "localhost"]\ngpc = "anonymous"\n',
    # The same hosts with the strictest Global Privacy Control policy.
    "browser-gpc.test": '[sites."browser-gpc.test"]\ndomains = ["127.0.0.1", "localhost"]\ngpc = "denied"\n',
}

# Tracker data-attributes per page variant; {dead} is a collector URL nobody listens on. data-vitals,
# data-heatmap, data-forms and data-exclude make t.js load its extension, t.x.js.
VARIANTS = {
    "core": 'data-site="browser.test" data-local data-vitals data-heatmap data-forms',
    "consent": 'data-site="browser.test" data-local',
    "withdraw": 'data-site="browser.test" data-local data-policy="2026-11"',
    "gpc": 'data-site="browser.test" data-local data-consent="granted"',
    "gpcdeny": 'data-site="browser-gpc.test" data-local',
    "throws": 'data-site="browser.test" data-local',
    "dead": 'data-site="browser.test" data-local data-vitals data-heatmap data-forms data-api="{dead}/api/event"',
    "local": 'data-site="browser.test"',
    "excl": 'data-site="browser.test" data-local data-exclude="/excl/private*, /excl/admin"',
    "hash": 'data-site="browser.test" data-local data-hash',
}


def with_browser_sites(settings: Settings) -> Settings:
    """The shared test settings, with the browser sites in its sites config."""
    text = settings.config_path.read_text()
    text += "".join(f"\n{block}" for site, block in BROWSER_SITES.items() if f'[sites."{site}"]' not in text)
    path = settings.config_path.with_name("browser-sites.toml")
    path.write_text(text)
    return replace(settings, config_path=path)


@dataclass
class Recorder:
    """ASGI middleware: passes every request through, recording each POST /api/event body and status.

    GET /__recorded answers the recorded posts as JSON, for the driver to wait on.
    """

    app: Any
    posts: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == RECORDED_PATH:
            with self.lock:
                body = json.dumps(self.posts).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/api/event":
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body, status = b"".join(chunks), 0
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, replay, capture)
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        with self.lock:
            self.posts.append({"body": parsed, "status": status})


@dataclass
class LiveCollector:
    url: str
    recorder: Recorder
    rows: Callable[[str], list[tuple[Any, ...]]]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows from the store after the writer flushed everything it holds."""
        return self.rows(sql)


@contextmanager
def serve_collector(api: Any) -> Iterator[LiveCollector]:
    """The collector app of `api` (lifespan and store from the shared fixtures) behind a Recorder,
    served by uvicorn on a free 127.0.0.1 port in a thread, stopped at the end."""
    recorder = Recorder(api.client.app)
    with serve(recorder) as url:
        yield LiveCollector(url=url, recorder=recorder, rows=api.rows)


class _Pages(SimpleHTTPRequestHandler):
    """Serves pages/ with the tracker tag of the path's variant filled in."""

    collector = ""
    dead = ""
    port = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        variant, name = parts[0], parts[-1]
        if variant not in VARIANTS:
            self.send_response(404 if variant != "favicon.ico" else 204)
            self.end_headers()
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


@contextmanager
def serve_pages(live_collector: LiveCollector) -> Iterator[str]:
    """The test pages on their own 127.0.0.1 port, loading t.js from the live collector; its URL."""
    class Pages(_Pages):
        collector = live_collector.url
        dead = f"http://127.0.0.1:{free_port()}"

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Pages, directory=str(PAGES)))
    Pages.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{Pages.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium not found: run .ci/browser-deps.sh, or set CHROMIUM to its path")
    return path


def node_path() -> str:
    """Node.js: the venv's (.ci/browser-deps.sh puts one there when the system's is missing or older
    than playwright-core needs), else the one on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    path = shutil.which("node", path=os.pathsep.join([venv_bin, os.environ.get("PATH", "")]))
    if not path:
        raise RuntimeError("Node.js not found: run .ci/browser-deps.sh")
    return path


def run_driver(site: str, live_collector: LiveCollector, *scenarios: str) -> dict[str, Any]:
    """Run scenarios of drive.mjs in one browser launch; returns {scenario: result}.

    Fails on a driver error or a failed scenario, and checks every event the collector received
    during the run against the schema."""
    request = {"chromium": chromium_path(), "site": site,
               "recorded": live_collector.url + RECORDED_PATH, "scenarios": list(scenarios)}
    proc = subprocess.run([node_path(), str(DRIVER)], input=json.dumps(request), capture_output=True,
                          text=True, cwd=ROOT, timeout=DRIVER_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"drive.mjs failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    results: dict[str, Any] = json.loads(proc.stdout)
    for name, result in results.items():
        assert result["ok"], f"scenario {name} failed:\n{result.get('failure')}\nconsole: {result['console']}"
    # What reached the collector, and what the browser tried to send to a collector that was down.
    failed = [{"body": f["body"], "status": 202} for r in results.values() for f in r["failed"]]
    assert_schema_valid(live_collector.recorder.posts + failed)
    return results


_VALIDATOR = jsonschema_rs.validator_for(json.loads((ROOT / "schemas" / "event.schema.json").read_text()))


def assert_schema_valid(posts: list[dict[str, Any]]) -> None:
    """Every body is a JSON array of 1-100 events that conform to the schema, and was accepted."""
    for post in posts:
        body = post["body"]
        assert isinstance(body, list) and 0 < len(body) <= 100, f"bad batch: {str(body)[:300]}"
        for item in body:
            errors = [f"{list(e.instance_path)}: {e.message}" for e in _VALIDATOR.iter_errors(item)]
            assert not errors, f"event does not match the schema: {item}\n{errors}"
        assert post["status"] == 202, f"collector answered {post['status']} to {body}"
