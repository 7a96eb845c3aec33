"""The reference pages of the manual (docs/reference/) are generated from the code by
collector/reference.py; these tests fail when a page is stale or when what it is generated from lacks a
description. Regenerate with `python -m collector.reference`."""

from __future__ import annotations

import argparse
import inspect
import re
from dataclasses import fields
from pathlib import Path

from collector import cli, config, reference, settings
from collector.event import REASON_MEANING, Reason
from collector.metrics_help import HELP

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "reference"


def test_reference_pages_are_current() -> None:
    """Changing a setting's default, a metric, a CLI argument, a drop reason, a schema or a route without
    running `python -m collector.reference` fails here."""
    assert reference.stale(DOCS) == [], "run: python -m collector.reference"


def test_a_stale_page_is_caught(tmp_path: Path) -> None:
    assert reference.main(["--out", str(tmp_path)]) == 0
    assert reference.stale(tmp_path) == []
    page = tmp_path / "settings.md"
    page.write_text(page.read_text().replace("`50000`", "`40000`"))
    assert reference.stale(tmp_path) == ["settings.md"]
    assert reference.main(["--out", str(tmp_path), "--check"]) == 1


def test_every_setting_has_a_variable_and_a_description() -> None:
    source = "".join(inspect.getsource(fn) for _, fn in inspect.getmembers(settings, inspect.isfunction)
                     if fn.__module__ == settings.__name__)  # from_env and its parsers
    read = set(re.findall(r'"((?:COLLECTOR|CLICKHOUSE)_[A-Z_]+)"', source))
    declared = set()
    for f in fields(settings.Settings):
        assert len(f.metadata.get("help", "")) > 10, f"{f.name}: no description"
        if f.metadata["env"]:
            declared.add(f.metadata["env"])
    assert read == declared  # every variable from_env reads is a described field, and the reverse


def test_every_sites_config_key_has_a_description() -> None:
    described = {f.name for f in fields(config.SitePolicy) if f.metadata.get("help")}
    assert described == config._KEYS
    assert {f.name for f in fields(config.UserSpec) if f.metadata.get("help")} == config._USER_KEYS


def test_every_metric_the_code_records_has_help_and_every_help_a_metric() -> None:
    recorded = set(reference.metric_calls())
    assert recorded == {name for name in HELP if not name.startswith("process_")}


def test_every_cli_argument_has_help() -> None:
    sub = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        for action in reference._actions(parser):
            assert action.help, f"collector {name} {action.dest}: no help"


def test_every_drop_reason_has_a_meaning() -> None:
    assert set(REASON_MEANING) == set(Reason)
