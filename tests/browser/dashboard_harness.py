"""Runs tests/browser/dashboard.mjs: headless Chromium (the suite's Debian Chromium through playwright-core)
through a list of dashboard steps against a live collector; returns what the browser saw.

Screenshots and downloads go to `artifacts` (the test's tmp dir), whose path the tests print, so a failed
or passed run can be looked at afterwards.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from browser_harness import ROOT, chromium_path

DRIVER = Path(__file__).resolve().parent / "dashboard.mjs"
TIMEOUT_S = 180


def run_dashboard(base: str, steps: list[dict[str, Any]], artifacts: Path, user: str = "", password: str = "",
                  viewport: dict[str, int] | None = None) -> dict[str, Any]:
    """Every step's result; fails on a driver error or a failed step (with the failure screenshot's path)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    request = {"chromium": chromium_path(), "base": base, "user": user, "password": password,
               "artifacts": str(artifacts), "steps": steps, "viewport": viewport}
    proc = subprocess.run(["node", str(DRIVER)], input=json.dumps(request), capture_output=True, text=True,
                          cwd=ROOT, timeout=TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"dashboard.mjs failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    out: dict[str, Any] = json.loads(proc.stdout)
    print(f"dashboard browser artifacts: {artifacts}")
    assert out["ok"], f"{out.get('failure')}\nscreenshot: {artifacts / 'failure.png'}\nerrors: {out['errors']}\n" \
                      f"failed requests: {out['failed'][-6:]}"
    return out
