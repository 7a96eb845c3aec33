"""Refresh collector/lists/isbot.json from a published isbot npm package.

    npm pack isbot            # isbot-<version>.tgz, the package Umami depends on
    python tools/update_isbot.py isbot-<version>.tgz

The patterns are kept as published (JavaScript syntax); collector/agents.py translates the two forms
Python's `re` lacks, and tests/test_agents.py fails if a new pattern does not compile.
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

LISTS = Path(__file__).resolve().parent.parent / "collector" / "lists"


def _read(archive: tarfile.TarFile, name: str) -> str:
    member = archive.extractfile(f"package/{name}")
    assert member is not None, name
    return member.read().decode("utf-8")


def main(tgz: Path) -> None:
    with tarfile.open(tgz) as archive:
        version = json.loads(_read(archive, "package.json"))["version"]
        source = _read(archive, "index.js")
        licence = _read(archive, "LICENSE")
    start = source.index("var patterns_default = [") + len("var patterns_default = ")
    patterns = json.loads(source[start:source.index("];", start) + 1])
    doc = {"name": "isbot", "version": version,
           "source": "npm package isbot (index.js, the patterns_default array of src/patterns.json)",
           "homepage": "https://github.com/omrilotan/isbot", "licence": "Unlicense (public domain)",
           "patterns": patterns}
    (LISTS / "isbot.json").write_text(json.dumps(doc, indent=0) + "\n", encoding="utf-8")
    (LISTS / "isbot.LICENSE").write_text(licence, encoding="utf-8")
    print(f"isbot {version}: {len(patterns)} patterns")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
