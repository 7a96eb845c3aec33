"""Pages for the consent-source browser tests: each CMP's test page, with the real package's files.

A page URL is `/<kind>/<source>/<template>/<scenario>`: `kind` picks the site (`std`: the default consent
policy, `strict`: consent = "strict"), `source` the tracker's data-consent-source, `template` the page under
pages/cmp/, and `scenario` only names the path, so every scenario's rows are told apart by their path.
`/nm/<package>/...` serves the dist files of the CMP packages pinned in package.json from node_modules
(nothing else of node_modules), `/cmp/<file>` a page's own script.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from browser_harness import PAGES, ROOT, LiveCollector

CMP_PAGES = PAGES / "cmp"
PACKAGES = ("vanilla-cookieconsent/dist/", "klaro/dist/", "@iabtechlabtcf/cmpapi/lib/mjs/",
            "@iabtechlabtcf/core/lib/mjs/")
SITES = {"std": "browser.test", "strict": "browser-strict.test"}
STRICT_SITE = '[sites."browser-strict.test"]\ndomains = ["127.0.0.1", "localhost"]\nconsent = "strict"\n'
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8"}


class _CmpPages(SimpleHTTPRequestHandler):
    collector = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path.startswith("/nm/") and ".." not in path and path[4:].startswith(PACKAGES):
            self._send(ROOT / "node_modules" / path[4:])
        elif path.startswith("/cmp/") and path.count("/") == 2:
            self._send(CMP_PAGES / path[5:])
        elif len(parts := path.strip("/").split("/")) == 4 and parts[0] in SITES:
            kind, source, template, scenario = parts
            tag = (f'<script defer src="{self.collector}/t.js" data-site="{SITES[kind]}" data-local '
                   f'data-policy="2026-12" data-consent-source="{source}"></script>')
            page = CMP_PAGES / f"{template}.html"
            if page.is_file():
                self._send(page, page.read_text().replace("{{tracker}}", tag).replace("{{late}}", scenario).encode())
            else:
                self._send(page)
        else:
            self._send(CMP_PAGES / "missing")

    def _send(self, file: Any, body: bytes | None = None) -> None:
        if body is None and not file.is_file():
            self.send_response(404)
            self.end_headers()
            return
        data = body if body is not None else file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(file.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_cmp_pages(live_collector: LiveCollector) -> Iterator[str]:
    """The CMP test pages on their own 127.0.0.1 port, loading t.js from the live collector; its URL."""
    class Pages(_CmpPages):
        collector = live_collector.url

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Pages, directory=str(CMP_PAGES)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
