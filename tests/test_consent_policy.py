"""Per-site policy is validated at startup with a message naming the key (acceptance g)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector import config

BAD = [
    ("unknown key", 'retension_days = 30', "retension_days"),
    ("negative raw retention", "retention_days = -1", "retention_days"),
    ("negative rollup retention", "rollup_retention_days = -5", "rollup_retention_days"),
    ("zero receipt retention", "receipt_retention_days = 0", "receipt_retention_days"),
    ("unknown gpc tier", 'gpc = "full"', "gpc"),
    ("unknown dnt tier", 'dnt = "maybe"', "dnt"),
    ("unknown consent mode", 'consent = "lax"', "consent"),
    ("unknown geo level", 'geo = "street"', "geo"),
    ("negative small-cell threshold", "small_cell_threshold = -1", "small_cell_threshold"),
    ("query params not a list", 'query_params = "ref"', "query_params"),
]


def _toml(line: str) -> str:
    return f'[sites."a.example"]\ndomains = ["a.example"]\n{line}\n'


@pytest.mark.parametrize(("case", "line", "key"), BAD, ids=[b[0] for b in BAD])
def test_bad_policy_fails_naming_the_key(tmp_path: Path, case: str, line: str, key: str) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(_toml(line))
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert f"'{key}'" in str(err.value) and "a.example" in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize(("line", "key"), [('retension_days = 30', "retension_days"),
                                           ("retention_days = -1", "retention_days"),
                                           ('gpc = "full"', "gpc")])
def test_serve_refuses_to_start(tmp_path: Path, line: str, key: str) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(_toml(line))
    env = {**os.environ, "COLLECTOR_CONFIG": str(path), "COLLECTOR_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-m", "collector", "serve", "--port", "1"], env=env, text=True,
                         capture_output=True, timeout=60)
    assert out.returncode == 2
    assert f"'{key}'" in out.stderr and "Traceback" not in out.stderr


def test_every_policy_key_has_a_working_value(tmp_path: Path) -> None:
    parsed = config.parse({"sites": {"a.example": {
        "domains": ["a.example"], "geo": "region", "consent": "strict", "gpc": "denied", "dnt": "ignore",
        "retention_days": 14, "rollup_retention_days": 730, "receipt_retention_days": 1825,
        "query_params": ["ref"], "hash_routing": True, "small_cell_threshold": 10, "policy_version": "2026-11"}}})
    policy = parsed.sites["a.example"]
    assert (policy.retention_days, policy.rollup_retention_days, policy.receipt_retention_days) == (14, 730, 1825)
    assert (policy.consent, policy.gpc, policy.dnt, policy.small_cell_threshold) == ("strict", "denied", "ignore", 10)
