"""The project's own checks, part of the suite so CI runs them: ruff on everything, mypy strict on the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout[-3000:]


def test_mypy_strict() -> None:
    result = _run("mypy", "collector")
    assert result.returncode == 0, result.stdout[-3000:]
