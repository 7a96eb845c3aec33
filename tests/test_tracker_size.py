"""The served tracker: its gzipped size, and a static check that it can only emit schema fields.

The tracker is three files: t.js, the one script tag sites embed; t.x.js, the extension t.js imports
only when the site enables web vitals, heatmaps, form engagement, excluded paths or a consent source;
and t.c.js, which t.x.js imports only for a consent source (data-consent-source: a CMP's signal).

Convention in both files that the static check relies on: event fields are written as unquoted keys
of object literals, and every event is built by `E('<type>', {<fields>})`; objects that are not
events (options passed to browser APIs) use quoted keys. The browser tests validate every payload
the collector receives; this test catches a field on a path those tests do not take.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import serve
from rawhttp import raw_request

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "collector" / "static"
TRACKER = STATIC / "t.js"
EXTENSION = STATIC / "t.x.js"
CONSENT_EXTENSION = STATIC / "t.c.js"
SCHEMA = json.loads((ROOT / "schemas" / "event.schema.json").read_text())
# Budgets for `gzip -9` of the served files (the README states both sizes). t.js is what every page
# loads: the limit. t.x.js (vitals, heatmap, forms, exclusions) loads only where a site opts
# in; its own budget stops it from becoming the place the weight hides.
MAX_GZIP_BYTES = 1536
MAX_EXTENSION_GZIP_BYTES = 1536
# t.c.js (consent sources) loads only where a site names its consent banner.
MAX_CONSENT_EXTENSION_GZIP_BYTES = 1536

_STRING = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|`(?:[^`\\]|\\.)*`")
_KEY = re.compile(r"(?<=[{,])\s*([A-Za-z_$][\w$]*)\s*:")
_EVENT = re.compile(r"\bE\('([a-z_]+)',\{")
_EVENT_TYPE = re.compile(r"\bE\('([a-z_]+)'")


def gzipped_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def common_fields() -> set[str]:
    return set(SCHEMA["properties"])


def type_fields(event_type: str) -> set[str]:
    """The fields an event of this type may carry: the common ones plus its `then` branch."""
    fields = common_fields()
    for branch in SCHEMA["allOf"]:
        condition = branch["if"]["properties"]["type"]
        if condition.get("const") == event_type or event_type in condition.get("enum", ()):
            fields |= set(branch["then"]["properties"])
    return fields


def all_fields() -> set[str]:
    fields = common_fields() | set(SCHEMA["properties"]["consent"]["properties"])
    for branch in SCHEMA["allOf"]:
        fields |= set(branch["then"]["properties"])
    return fields


def literal_keys(source: str) -> set[str]:
    """Unquoted object-literal keys, with string contents blanked out first."""
    return set(_KEY.findall(_STRING.sub("''", source)))


def event_literals(source: str) -> list[tuple[str, set[str]]]:
    """(type, top-level keys) of every E('<type>', {...}) call."""
    found = []
    for match in _EVENT.finditer(source):
        depth, start = 1, match.end()
        end = start
        while depth:
            depth += {"{": 1, "}": -1}.get(source[end], 0)
            end += 1
        body, top, level = source[start:end - 1], [], 0
        for char in _STRING.sub("''", body):
            level += {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}.get(char, 0)
            top.append(char if level == 0 or char in "{}()[]" else " ")
        found.append((match.group(1), set(_KEY.findall("{" + "".join(top)))))
    return found


def sources() -> str:
    """The tracker files, as one text: the extensions build events with the core's E()."""
    return "\n".join(f.read_text() for f in (TRACKER, EXTENSION, CONSENT_EXTENSION))


@pytest.mark.parametrize(("path", "file", "budget"), [("/t.js", TRACKER, MAX_GZIP_BYTES),
                                                      ("/t.x.js", EXTENSION, MAX_EXTENSION_GZIP_BYTES),
                                                      ("/t.c.js", CONSENT_EXTENSION, MAX_CONSENT_EXTENSION_GZIP_BYTES)])
def test_served_tracker_fits_its_gzip_budget(api: Any, path: str, file: Path, budget: int) -> None:
    served = api.client.get(path)
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/javascript")
    assert served.content == file.read_bytes()
    size = gzipped_size(served.content)
    print(f"{path}: {size} bytes gzipped (budget {budget})")
    assert size <= budget, f"{path} is {size} bytes gzipped, the limit is {budget}"


@pytest.mark.parametrize("path", ["/t.js", "/t.x.js", "/t.c.js"])
def test_tracker_files_are_served_cross_origin_with_etag(api: Any, path: str) -> None:
    """t.js is a cross-origin script and imports t.x.js as a module, which needs CORS."""
    served = api.client.get(path)
    assert served.headers["access-control-allow-origin"] == "*"
    assert "max-age" in served.headers["cache-control"]
    again = api.client.get(path, headers={"if-none-match": served.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


ESCAPES = ["/../app.py", "/..%2fapp.py", "/%2e%2e/app.py", "/t.js/../app.py", "/t.x.js/..", "/./t.js/../../README.md",
           "/static/t.js", "/t.y.js", "/t.c.js/../app.py", "/app.py", "/%2e%2e/%2e%2e/README.md", "/..\\app.py"]


def files_escaped(url: str) -> list[str]:
    """The targets, sent as written over a socket, whose answer carries a file other than the tracker."""
    return [f"{target}: {r.status}" for target in ESCAPES
            if (r := raw_request(url, "GET", target)).status != 404 or b"import" in r.body]


def test_only_the_tracker_files_are_served(api: Any) -> None:
    assert api.client.get("/t.js").headers["etag"] != api.client.get("/t.x.js").headers["etag"]
    with serve(api.client.app) as url:
        assert raw_request(url, "GET", "/t.js").body == TRACKER.read_bytes()
        assert files_escaped(url) == []


async def naive_static(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A static handler that joins the request path onto its folder: the mistake the test above must catch."""
    path = STATIC / unquote(scope["raw_path"].decode()).lstrip("/").replace("\\", "/")
    found = path.is_file()
    await send({"type": "http.response.start", "status": 200 if found else 404, "headers": []})
    await send({"type": "http.response.body", "body": path.read_bytes() if found else b""})


def test_the_escape_check_can_fail() -> None:
    """Against a naive static handler the same targets read the collector's source: they reach the
    server with their `..` (httpx would have sent /app.py, which such a handler answers with a 404)."""
    with serve(naive_static) as url:
        escaped = files_escaped(url)
    assert {"/../app.py: 200", "/%2e%2e/app.py: 200", "/..%2fapp.py: 200"} <= set(escaped), escaped


def test_tracker_emits_only_schema_fields() -> None:
    source = sources()
    keys = literal_keys(source)
    assert {"site", "type", "url", "consent"} <= keys, "the extraction found no event literal"
    assert keys <= all_fields(), f"t.js writes fields the schema lacks: {sorted(keys - all_fields())}"


def test_each_event_type_carries_only_its_fields() -> None:
    source = sources()
    calls = event_literals(source)
    types = set(_EVENT_TYPE.findall(source))
    assert types >= {"pageview", "click", "engagement", "session_end", "custom", "form", "error", "vital",
                     "exposure", "consent"}, f"event types built by E(): {sorted(types)}"
    assert types <= set(SCHEMA["properties"]["type"]["enum"])
    for event_type, keys in calls:
        extra = keys - type_fields(event_type)
        assert not extra, f"E('{event_type}', ...) writes {sorted(extra)}, which the schema does not allow"


def test_static_check_catches_an_unknown_field() -> None:
    source = "E('click',{kind:'heatmap',x:1,colour:'red'});o={'passive':!0,site:1}"
    assert literal_keys(source) == {"kind", "x", "colour", "site"}
    assert event_literals(source) == [("click", {"kind", "x", "colour"})]
    assert "colour" not in type_fields("click") and "x" not in type_fields("pageview")
