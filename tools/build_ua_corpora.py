"""Rebuild the user-agent corpora under tests/data from the published packages they come from.

    pip download --no-deps crawler-user-agents==1.67.0 device-detector==6.5.1   (wheels)
    npm pack user-agents@2.1.198                                                  (tarball)
    python tools/build_ua_corpora.py DIR   # DIR holds the two wheels and the tarball

None of these packages is a dependency of the collector: they are test data that no one here wrote.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

import yaml  # only this tool needs it (the fixture file is YAML)

OUT = Path(__file__).resolve().parent.parent / "tests" / "data"


def _member(archive: Path, suffix: str) -> bytes:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            return z.read(next(n for n in z.namelist() if n.endswith(suffix)))
    with tarfile.open(archive) as t:
        member = next(m for m in t.getmembers() if m.name.endswith(suffix))
        data = t.extractfile(member)
        assert data is not None
        return data.read()


def _write(name: str, header: str, lines: list[str]) -> None:
    clean = [line for line in lines if line and "\n" not in line and "\r" not in line]
    (OUT / name).write_text(header + "".join(f"{line}\n" for line in clean), encoding="utf-8")
    print(name, len(clean))


def main(directory: Path) -> None:
    crawlers = next(directory.glob("crawler_user_agents-*.whl"))
    data = json.loads(_member(crawlers, "crawler-user-agents.json"))
    _write("bots_crawler_user_agents.txt",
           f"# Every example user agent (`instances`) of the crawler-user-agents list, {crawlers.name}\n"
           "# (github.com/monperrus/crawler-user-agents), MIT licence, Copyright (c) 2017 Martin Monperrus.\n",
           sorted({i for entry in data for i in entry.get("instances", [])}))
    detector = next(directory.glob("device_detector-*.whl"))
    fixtures = yaml.safe_load(io.BytesIO(_member(detector, "tests/fixtures/upstream/bots.yml")))
    _write("bots_matomo_fixtures.txt",
           f"# The user agents of Matomo Device Detector's bot test fixtures (Tests/fixtures/bots.yml), as shipped\n"
           f"# in {detector.name} (github.com/matomo-org/device-detector), LGPL-3.0-or-later.\n",
           sorted({f["user_agent"] for f in fixtures}))
    browsers = next(directory.glob("user-agents-*.tgz"))
    weights: Counter[str] = Counter()
    for entry in json.loads(_member(browsers, "dist/user-agents.json")):
        weights[entry["userAgent"]] += entry["weight"]
    _write("browsers_real_traffic.tsv",
           f"# Real browser user agents with their share of traffic (weight), from {browsers.name}\n"
           "# (github.com/intoli/user-agents: collected from real visits), BSD-2-Clause, Copyright Intoli, LLC.\n"
           "# user agent<TAB>weight\n",
           [f"{ua}\t{w:.8f}" for ua, w in sorted(weights.items())])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
