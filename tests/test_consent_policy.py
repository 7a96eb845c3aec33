"""Per-site policy is validated at startup with a message naming the key (acceptance g)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
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
    ("domains not a list", 'domains = "a.example"', "domains"),
    ("hash routing not a boolean", 'hash_routing = "yes"', "hash_routing"),
    ("policy version not a string", "policy_version = 3", "policy_version"),
]


def _toml(line: str) -> str:
    domains = "" if line.startswith("domains") else 'domains = ["a.example"]\n'
    return f'[sites."a.example"]\n{domains}{line}\n'


def policy_keys() -> set[str]:
    """The keys a site's policy has: the SitePolicy dataclass itself, not a list typed here."""
    return {f.name for f in fields(config.SitePolicy)} - {"site"}


def test_every_policy_key_has_a_bad_value_test() -> None:
    assert policy_keys() - {key for _, _, key in BAD} == set()


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


WORKING = {"domains": ["a.example", "*.a.example"], "geo": "region", "consent": "strict", "gpc": "denied",
           "dnt": "ignore", "retention_days": 14, "rollup_retention_days": 730, "receipt_retention_days": 1825,
           "query_params": ["ref"], "hash_routing": True, "small_cell_threshold": 10, "policy_version": "2026-11"}


def test_every_policy_key_has_a_working_value() -> None:
    """Each key, set to a value other than its default, is read into the policy as written."""
    assert set(WORKING) == policy_keys()
    defaults = config.SitePolicy(site="a.example", domains=("a.example",))
    policy = config.parse({"sites": {"a.example": WORKING}}).sites["a.example"]
    for key, value in WORKING.items():
        read = getattr(policy, key)
        assert read != getattr(defaults, key), f"{key}: the test value is the default, so it proves nothing"
        assert read == (tuple(value) if isinstance(value, list) else value), key
