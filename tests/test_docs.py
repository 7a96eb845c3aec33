"""The front door and the manual: the README stays short and links into docs/, the manual builds with
`mkdocs build --strict` (a broken link or anchor, or a page left out of the navigation, fails), and every
page of docs/ is in the navigation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()


def _nav_pages() -> set[str]:
    text = (ROOT / "mkdocs.yml").read_text()
    nav = text.split("\nnav:\n", 1)[1]
    return set(re.findall(r"([\w./-]+\.md)\s*$", nav, re.M))


def test_the_readme_is_a_short_front_door() -> None:
    assert len(README.splitlines()) <= 250
    for heading in ("## Two commands", "## A short tour", "## The privacy promises", "## The manual"):
        assert heading in README


def test_every_readme_link_into_docs_exists() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)", README)
    assert links
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_every_page_is_in_the_navigation() -> None:
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages - _nav_pages() == set(), "add these pages to mkdocs.yml's nav"
    assert _nav_pages() - pages == set()


def test_the_manual_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "settings" / "index.html").is_file()
