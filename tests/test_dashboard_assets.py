"""The dashboard's static files under immutable names (collector/read/assets.py, dashboard.py): the pages link
to `/dashboard/static/v/<version>/…`, which a browser keeps for a year without asking again, and the version
changes whenever any file does."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import Api
from test_dashboard import login, settings  # noqa: F401  (the reader's sites config)

from collector.read import assets


def test_pages_link_versioned_files_that_are_cached_as_immutable(api: Api) -> None:
    pages = [api.client.get("/dashboard/login").text]
    login(api)
    pages += [api.client.get("/dashboard").text, api.client.get("/dashboard/heatmap?site_id=test.example").text]
    version = assets.version(assets.load())
    for page in pages:
        links = re.findall(r'(?:src|href)="(/dashboard/static/[^"]+)"', page)
        assert links and all(link.startswith(f"/dashboard/static/v/{version}/") for link in links), links
        for link in links:
            r = api.client.get(link, headers={"accept-encoding": "gzip"})
            assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable", link
    # The modules dashboard.js imports are preloaded with it, so none waits for its importer to arrive.
    preloaded = set(re.findall(r'rel="modulepreload" href="/dashboard/static/v/\w+/([^"]+)"', pages[1]))
    imported = set(re.findall(r"from '\./([^']+)'", "".join(
        (assets.STATIC / name).read_text() for name in ("dashboard.js", "cards.js"))))
    assert imported <= preloaded
    # The sites this login may read come with the page (no request before the first view's batch).
    assert '<meta name="sites" content="[&quot;test.example&quot;]">' in pages[1]
    # The stable names still answer (revalidated), another version is unknown.
    assert api.client.get("/dashboard/static/dashboard.js").headers["cache-control"] == "no-cache"
    assert api.client.get("/dashboard/static/v/000000000000/dashboard.js").status_code == 404


def test_the_version_changes_with_any_file(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("export const a = 1;\n")
    (tmp_path / "b.css").write_text("body {}\n")
    before = assets.version(assets.load(tmp_path))
    assert assets.version(assets.load(tmp_path)) == before
    (tmp_path / "b.css").write_text("body { color: red }\n")
    assert assets.version(assets.load(tmp_path)) != before
