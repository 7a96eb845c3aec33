"""The dashboard's static files, read once from the package: plain JS modules, CSS and the vendored chart
library. Served with an ETag, and gzip-compressed once at startup for clients that accept it (the page's
transfer size is what a phone on a slow link pays)."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


def load(root: Path = STATIC) -> dict[str, Asset]:
    """Every servable file under `root` by its relative path (HTML templates are not served as files)."""
    assets = {}
    for path in sorted(root.rglob("*")):
        # Licence files ship beside what they license and are served with it.
        media = TYPES[".txt"] if path.name == "LICENSE" else TYPES.get(path.suffix)
        if not path.is_file() or media is None or path.suffix == ".html":
            continue
        body = path.read_bytes()
        assets[path.relative_to(root).as_posix()] = Asset(
            body, gzip.compress(body, 9, mtime=0), media, f'"{hashlib.sha256(body).hexdigest()[:16]}"')
    return assets


# Versioned URLs name one version of every file: a browser may keep them for a year without asking again.
IMMUTABLE = "public, max-age=31536000, immutable"


def version(assets: dict[str, Asset]) -> str:
    """A name for this set of files, changing whenever any file does (the page links to `v/<version>/`)."""
    return hashlib.sha256("".join(a.etag for _, a in sorted(assets.items())).encode()).hexdigest()[:12]


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def respond(request: Request, asset: Asset, cache: str = "no-cache") -> Response:
    """The asset, or 304 when the client has this version; gzip when accepted. `no-cache` by default: the
    browser keeps a copy but asks (a cheap 304) so a new version is never hidden behind a stale cache."""
    headers = {"ETag": asset.etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
