"""Site policy from TOML: defaults, matching, and start-up errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.config import ConfigError, load, parse
from collector.settings import DEMO_CONFIG, SettingsError, from_env


def test_demo_config_loads() -> None:
    site = load(DEMO_CONFIG).sites["demo.example"]
    assert site.retention_days == 30 and site.geo == "city" and site.query_params == ("ref",)


def test_defaults_are_privacy_first() -> None:
    site = parse({"sites": {"a.example": {}}}).sites["a.example"]
    assert (site.domains, site.retention_days, site.consent, site.query_params) == (("a.example",), 30, "default", ())


def test_domain_matching() -> None:
    site = parse({"sites": {"a.example": {"domains": ["a.example", "*.a.example"]}}}).sites["a.example"]
    assert site.allows_host("a.example") and site.allows_host("WWW.A.EXAMPLE")
    assert not site.allows_host("evil-a.example") and not site.allows_host("a.example.evil")


@pytest.mark.parametrize(("raw", "message"), [
    ({"sites": {"a": {"retention_dayz": 1}}}, "'retention_dayz' is not a known setting"),
    ({"sites": {"a": {"retention_days": -1}}}, "'retention_days' must be a non-negative integer"),
    ({"sites": {"a": {"retention_days": 0}}}, "'retention_days' must be between 1 and 65535"),
    ({"sites": {"a": {"gpc": "full"}}}, "'gpc' must be one of anonymous, denied"),
    ({"sites": {"a": {"geo": "street"}}}, "'geo' must be one of city, region, country, none"),
    ({"sites": {"a": {"domains": "a.example"}}}, "'domains' must be a list"),
    ({"sites": {}}, "'sites' must define at least one"),
    ({"site": {}}, "'site' is not a known section"),
])
def test_invalid_config_names_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(raw)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sites\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load(bad)
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "missing.toml")


def test_settings_from_env_fail_loudly() -> None:
    assert from_env({"COLLECTOR_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1"}).trusted_proxies[1].prefixlen == 32
    with pytest.raises(SettingsError, match="COLLECTOR_TRUSTED_PROXIES"):
        from_env({"COLLECTOR_TRUSTED_PROXIES": "10.0.0.0/33"})
    with pytest.raises(SettingsError, match="COLLECTOR_FLUSH_ROWS"):
        from_env({"COLLECTOR_FLUSH_ROWS": "many"})
