"""Per-site policy from the TOML file in COLLECTOR_CONFIG, validated at startup with clear errors."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

GEO_LEVELS = ("city", "region", "country", "none")
ROLES = ("read", "analyst", "admin")
CONSENT_MODES = ("default", "strict")
SIGNAL_TIERS = {"gpc": ("anonymous", "denied"), "dnt": ("anonymous", "denied", "ignore")}


class ConfigError(ValueError):
    """The sites config is invalid; the message names the file, site and key."""


def key(help: str, default: Any = MISSING) -> Any:
    """A key of the sites config: its default (none: required) and what it does (the reference page
    docs/reference/sites-config.md is generated from these)."""
    return field(metadata={"help": help}) if default is MISSING else field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class SitePolicy:
    site: str  # the table name: [sites."example.com"]
    domains: tuple[str, ...] = key('Hosts (Origin/Referer) allowed to send events for this site; "*.example.com" '
                                   "matches subdomains.")
    geo: str = key("Coarsest location ever stored for this site: city, region, country or none (city is the "
                   "finest the collector supports).", "city")
    consent: str = key("`strict`: no anonymous tier without consent, events without consent are only counted; "
                       "`default`: anonymous tier without consent.", "default")
    gpc: str = key("What Global Privacy Control does when the visitor has not consented: anonymous or denied.",
                   "anonymous")
    dnt: str = key("What Do Not Track does when the visitor has not consented: anonymous, denied or ignore.",
                   "anonymous")
    retention_days: int = key("Days raw events are kept (pseudonymous ids, paths): a privacy-first 30 by default.",
                              30)
    rollup_retention_days: int = key("Days the rollups are kept (no identifiers, only sketches and counts).",
                                     3 * 366)  # see DEFAULT_ROLLUP_DAYS
    receipt_retention_days: int = key("Days consent receipts are kept: proof of consent must outlive the raw "
                                      "events it covers (GDPR art. 7(1)).", 3 * 366)
    query_params: tuple[str, ...] = key("Query parameters kept besides utm_*; every other is cut from stored URLs.",
                                        ())
    hash_routing: bool = key("Keep the URL fragment (only for sites that route by hash).", False)
    small_cell_threshold: int = key("Groups with fewer distinct visitors than this are hidden from non-admin "
                                    "readers.", 5)
    policy_version: str = key("Current version of the site's privacy policy, recorded on consent receipts.", "")

    def allows_host(self, host: str) -> bool:
        host = host.lower()
        return any(host == d or (d.startswith("*.") and host.endswith(d[1:])) for d in self.domains)


@dataclass(frozen=True, slots=True)
class UserSpec:
    """A reader of the store, ClickHouse users.xml-style: `[users.NAME]` in the sites config."""

    name: str  # the table name: [users.grafana]
    role: str = key("read: suppressed aggregates only; analyst: also the raw (pseudonymous) events; admin: "
                    "everything.")
    password_sha256_hex: str = key("SHA-256 of the password, hex (as ClickHouse's password_sha256_hex): the "
                                   "password itself is never stored.")
    sites: tuple[str, ...] = key("Site ids this user may read; empty: every site.", ())

    def may_read(self, site: str) -> bool:
        return not self.sites or site in self.sites


@dataclass(frozen=True, slots=True)
class Config:
    sites: Mapping[str, SitePolicy]
    users: Mapping[str, UserSpec] = field(default_factory=dict)

    def any_site_allows(self, host: str) -> bool:
        return any(policy.allows_host(host) for policy in self.sites.values())


DEFAULT_ROLLUP_DAYS = 3 * 366
_KEYS = {f.name for f in fields(SitePolicy)} - {"site"}
_INT_KEYS = ("retention_days", "rollup_retention_days", "receipt_retention_days", "small_cell_threshold")
_MAX_RETENTION_DAYS = 65_535  # the column is a UInt16


def _fail(where: str, key: str, why: str) -> ConfigError:
    return ConfigError(f"{where}: '{key}' {why}")


def _site(site: str, raw: Mapping[str, Any], where: str) -> SitePolicy:
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise _fail(where, unknown[0], f"is not a known setting (known: {', '.join(sorted(_KEYS))})")
    if not site.isascii() or not site or len(site) > 100:
        raise _fail(where, "site", "must be 1-100 ASCII characters")
    values: dict[str, Any] = dict(raw)
    domains = values.get("domains", [site])
    if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
        raise _fail(where, "domains", "must be a list of host names")
    values["domains"] = tuple(d.lower() for d in domains)
    for key in _INT_KEYS:
        if key in values:
            value = values[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise _fail(where, key, f"must be a non-negative integer, got {value!r}")
            if key.endswith("_days") and not 1 <= value <= _MAX_RETENTION_DAYS:
                raise _fail(where, key, f"must be between 1 and {_MAX_RETENTION_DAYS} days, got {value}")
    choices = {"geo": GEO_LEVELS, "consent": CONSENT_MODES, **SIGNAL_TIERS}
    for key, allowed in choices.items():
        if key in values and values[key] not in allowed:
            raise _fail(where, key, f"must be one of {', '.join(allowed)}, got {values[key]!r}")
    params = values.get("query_params", [])
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise _fail(where, "query_params", "must be a list of parameter names")
    values["query_params"] = tuple(params)
    for key in ("hash_routing",):
        if key in values and not isinstance(values[key], bool):
            raise _fail(where, key, "must be true or false")
    if "policy_version" in values and not isinstance(values["policy_version"], str):
        raise _fail(where, "policy_version", "must be a string")
    return SitePolicy(site=site, **values)


_USER_KEYS = {"role", "password_sha256_hex", "sites"}
# The built-in operator account: its password is COLLECTOR_ADMIN_TOKEN, so the config cannot redefine it.
ADMIN_USER = "admin"


def _user(name: str, raw: Any, sites: Mapping[str, SitePolicy], where: str) -> UserSpec:
    if not isinstance(raw, dict):
        raise _fail(where, f"users.{name}", "must be a table")
    unknown = sorted(set(raw) - _USER_KEYS)
    if unknown:
        raise _fail(where, unknown[0], f"is not a known user setting (known: {', '.join(sorted(_USER_KEYS))})")
    if name == ADMIN_USER:
        raise _fail(where, "users.admin", "is built in (its password is COLLECTOR_ADMIN_TOKEN)")
    if not name.isascii() or not name.replace("_", "").replace("-", "").isalnum() or len(name) > 64:
        raise _fail(where, f"users.{name}", "must be 1-64 ASCII letters, digits, '-' or '_'")
    role = raw.get("role")
    if role not in ROLES:
        raise _fail(where, "role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    digest = raw.get("password_sha256_hex")
    if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise _fail(where, "password_sha256_hex", "must be the 64 hex digits of the password's SHA-256")
    allowed = raw.get("sites", [])
    if not isinstance(allowed, list) or not all(isinstance(s, str) and s in sites for s in allowed):
        raise _fail(where, "sites", "must be a list of configured site ids")
    return UserSpec(name=name, role=role, password_sha256_hex=digest.lower(), sites=tuple(allowed))


def parse(data: Mapping[str, Any], source: str = "config") -> Config:
    unknown = sorted(set(data) - {"sites", "users"})
    if unknown:
        raise _fail(source, unknown[0], "is not a known section (expected [sites.<id>] or [users.<name>])")
    sites = data.get("sites", {})
    if not isinstance(sites, dict) or not sites:
        raise _fail(source, "sites", "must define at least one [sites.<id>] table")
    parsed = {}
    for site, raw in sites.items():
        if not isinstance(raw, dict):
            raise _fail(source, f"sites.{site}", "must be a table")
        parsed[site] = _site(site, raw, f"{source}: [sites.\"{site}\"]")
    users = data.get("users", {})
    if not isinstance(users, dict):
        raise _fail(source, "users", "must be [users.<name>] tables")
    return Config(sites=parsed, users={name: _user(name, raw, parsed, f"{source}: [users.\"{name}\"]")
                                       for name, raw in users.items()})


def load(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse(data, str(path))
