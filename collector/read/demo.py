"""The first run: with the packaged demo config, `/` is a small demo site that loads t.js, and a demo login
for the dashboard is generated into the data directory (never a fixed password) and logged at startup.

The demo login is a `read` user of the demo site only. It sees a single visitor because the demo site's
`small_cell_threshold` is 1 (see collector/demo/sites.toml): on a real site a read user never sees a cell
below k.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..settings import DEMO_CONFIG, Settings
from .users import Role, User

log = logging.getLogger("collector.dashboard")
SITE_DIR = Path(__file__).resolve().parent.parent / "demo" / "site"
DEMO_SITE = "demo.example"
DEMO_USER = "demo"
# Demo pages by path; the collector frames them in the heatmap page, so they allow framing by 'self'.
PAGES = {"/": "index.html", "/pricing": "pricing.html", "/about": "about.html"}
CSP_DEMO = ("default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'self'")


def is_demo(settings: Settings) -> bool:
    """Serving the packaged demo config (COLLECTOR_CONFIG not set)."""
    return settings.config_path.resolve() == DEMO_CONFIG.resolve()


def demo_password(data_dir: Path) -> tuple[str, bool]:
    """The demo login's password, generated on the first run into the data dir (mode 0600); (password, new)."""
    path = data_dir / "demo-login"
    if path.exists():
        return path.read_text().strip(), False
    data_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password, True


class DemoLogin:
    """Checks the demo credential in constant time; `user` is None outside demo mode."""

    def __init__(self, settings: Settings) -> None:
        self.password = ""
        if is_demo(settings):
            self.password, new = demo_password(settings.data_dir)
            where = settings.data_dir / "demo-login"
            log.warning(f"demo dashboard: open /dashboard and log in as user '{DEMO_USER}' with password "
                        f"'{self.password}' (kept in {where})", extra={"new_credential": new})

    def user(self, name: str, password: str) -> User | None:
        if not self.password:
            return None
        ok = hmac.compare_digest(password.encode("utf-8", "surrogateescape"), self.password.encode())
        return User(DEMO_USER, Role.READ, (DEMO_SITE,)) if ok and name == DEMO_USER else None


async def page(request: Request) -> Response:
    name = PAGES.get(request.url.path) or request.url.path.lstrip("/")
    path = SITE_DIR / name
    if name not in set(PAGES.values()) | {"demo.css"} or not path.is_file():
        return Response("Not Found", status_code=404, media_type="text/plain")
    media = "text/css; charset=utf-8" if name.endswith(".css") else "text/html; charset=utf-8"
    return Response(path.read_bytes(), media_type=media,
                    headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP_DEMO})


def routes(settings: Settings) -> list[Route]:
    """The demo site's routes in demo mode; none otherwise (`/` stays unrouted on a real deployment)."""
    if not is_demo(settings):
        return []
    return [Route(path, page, methods=["GET"]) for path in [*PAGES, "/demo.css"]]
