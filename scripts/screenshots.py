"""Regenerate the dashboard screenshots of the README (docs/screenshots/*.png).

    .venv/bin/python scripts/screenshots.py [--rows 300000] [--out docs/screenshots]

Seeds a fresh embedded store in a temporary directory with generated events (bench/generate.py: a month
of sessions over three sites), serves the collector on a free 127.0.0.1 port, and drives headless Chromium
(the test suite's driver, tests/browser/dashboard.mjs) through the dashboard as the admin: the desktop
page, the same page on a phone-sized screen, and the click heatmap of the home page.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import generate  # noqa: E402
from collector import visits  # noqa: E402
from collector.app import create_app  # noqa: E402
from collector.settings import Settings  # noqa: E402
from collector.store import migrate, open_store  # noqa: E402

SITES = "".join(f'[sites."{s}"]\ndomains = ["{s}"]\n\n' for s in ("bench.example", "shop.example", "docs.example"))
DRIVER = ROOT / "tests" / "browser" / "dashboard.mjs"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise SystemExit("Chromium not found: run .ci/browser-deps.sh")
    return path


def seed(data_dir: Path, rows: int) -> None:
    store = open_store(Settings(data_dir=data_dir))
    migrate(store)
    store.command(f"{generate.INSERT} {generate.events_select(rows)}")
    visits.close_due(store, time.time())  # the days a running collector would have closed into visit rollups
    store.close()


def shoot(base: str, token: str, out: Path) -> None:
    steps = [
        {"do": "login", "user": "admin", "password": token},
        {"do": "dashboard"},
        {"do": "screenshot", "name": "dashboard"},
        {"do": "screenshot", "name": "dashboard-phone", "width": 390, "height": 844},
        {"do": "heatmap", "query": {"site_id": "bench.example", "page": "/"}},
        {"do": "screenshot", "name": "heatmap", "width": 1024, "height": 900, "fullPage": False},
    ]
    request = {"chromium": _chromium(), "base": base, "artifacts": str(out), "steps": steps}
    proc = subprocess.run(["node", str(DRIVER)], input=json.dumps(request), capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)
    result = json.loads(proc.stdout or "{}")
    if proc.returncode or not result.get("ok"):
        raise SystemExit(f"the browser run failed: {result.get('failure') or proc.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=300_000, help="generated events to seed")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        config = Path(tmp) / "sites.toml"
        config.write_text(SITES)
        settings = Settings(data_dir=Path(tmp) / "data", config_path=config, admin_token=token)
        seed(settings.data_dir, args.rows)
        app = create_app(settings)
        with TestClient(app):  # runs the lifespan: the store opens, migrations and background work start
            port = _port()
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                                   access_log=False, lifespan="off"))
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.05)
            try:
                shoot(f"http://127.0.0.1:{port}", token, args.out)
            finally:
                server.should_exit = True
                thread.join(10)
    for name in ("dashboard", "dashboard-phone", "heatmap"):
        print(args.out / f"{name}.png")


if __name__ == "__main__":
    main()
