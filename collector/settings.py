"""Process settings, read once from the environment at startup; a bad value fails loudly."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .limits import parse_rates
from .server_url import ServerUrlError
from .server_url import parse as parse_server_url


def _schemas_dir() -> Path:
    """The event schema and the DDL: inside the package when installed from a wheel (pyproject.toml maps
    the checkout's top-level schemas/ to collector/schemas), else the checkout's schemas/ itself."""
    package = Path(__file__).resolve().parent
    installed = package / "schemas"
    return installed if installed.is_dir() else package.parent / "schemas"


# Every reader of the schemas (validator, migrations, dashboards) resolves them from here.
SCHEMAS_DIR = _schemas_dir()
DEMO_CONFIG = Path(__file__).resolve().parent / "demo" / "sites.toml"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


def setting(default: Any, env: str, help: str, shown: str | None = None, secret: bool = False) -> Any:
    """A field of Settings: its default, the environment variable that sets it, and what it does (the
    reference page docs/reference/settings.md is generated from these; `shown` replaces a default
    that should not be printed as is). A `secret` value (a password, a key) is left out of the repr."""
    return field(default=default, repr=not secret, metadata={"env": env, "help": help, "shown": shown})


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = setting(Path("data"), "COLLECTOR_DATA_DIR",
                             "Directory of the embedded store (chDB), the spool and the collector's own state.")
    clickhouse_url: str | None = setting(
        None, "CLICKHOUSE_URL", "Set: server mode, ClickHouse's HTTP interface as "
        "`http(s)://user:password@host:port/analytics`, optionally `?proxy_path=/path` for a server behind a path "
        "(another collector's `/sql`); unset: the embedded store in COLLECTOR_DATA_DIR. Never in a repr or log.",
        secret=True)
    clickhouse_ingest_url: str | None = setting(
        None, "CLICKHOUSE_INGEST_URL", "Server mode: the user the writer inserts as, one that may only INSERT into "
        "the tables it writes (and read recent event-id keys), e.g. `http://ingest:password@host:8123/analytics`; "
        "unset: the CLICKHOUSE_URL user, which also migrates, closes visits and answers rights requests.",
        secret=True)
    clickhouse_cluster: str | None = setting(
        None, "CLICKHOUSE_CLUSTER", "Server mode on a ClickHouse cluster: its name, as given to `collector migrate "
        "--cluster`; erasure (withdrawals, data-subject deletes, site purges) then runs ON CLUSTER on every "
        "replica's local tables.")
    secret_hex: str | None = setting(
        None, "COLLECTOR_SECRET", "The HMAC key for consented visitor ids, 64 hex characters, the same on every "
        "machine of a deployment. Unset: in server mode the key stored once in the server "
        "(analytics_meta.secret_key); embedded, the data dir's secret.key. Never logged.", secret=True)
    store_connections: int = setting(
        4, "COLLECTOR_STORE_CONNECTIONS", "Server mode: HTTP connections to ClickHouse per process, so the writer, "
        "housekeeping, visits closing and rights requests do not queue behind one another (embedded mode has one "
        "engine handle).")
    config_path: Path = setting(DEMO_CONFIG, "COLLECTOR_CONFIG",
                                "The sites config (TOML: sites, policies, retention, users).",
                                shown="the packaged demo config")
    admin_token: str | None = setting(None, "COLLECTOR_ADMIN_TOKEN",
                                      "Bearer token of the admin API, and the password of `/sql`'s `admin` user.")
    trusted_proxies: tuple[Network, ...] = setting(
        (), "COLLECTOR_TRUSTED_PROXIES", "CIDR list of proxies whose X-Forwarded-For / Forwarded headers are "
        "believed (the right-most untrusted address is the client).")
    geoip_db: Path | None = setting(None, "COLLECTOR_GEOIP_DB", "A GeoLite2/GeoIP2 City .mmdb file.",
                                    shown="the GeoLite2-City database packaged by maxminddb-geolite2")
    flush_rows: int = setting(50_000, "COLLECTOR_FLUSH_ROWS",
                              "The writer inserts when this many rows wait, or at COLLECTOR_FLUSH_INTERVAL_MS.")
    flush_interval_ms: int = setting(1_000, "COLLECTOR_FLUSH_INTERVAL_MS",
                                     "The writer inserts at most this long after the first waiting row.")
    buffer_max_rows: int = setting(200_000, "COLLECTOR_BUFFER_MAX_ROWS",
                                   "Rows waiting for the writer before ingest answers 503 instead of growing.")
    ts_past_window_s: int = setting(24 * 3600, "",
                                    "Client timestamps up to this far in the past are accepted; older: 400.")
    ts_future_window_s: int = setting(300, "",
                                      "Client timestamps up to this far in the future are accepted; later: 400.")
    log_level: str = setting("INFO", "COLLECTOR_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR.")
    durability: str = setting(
        "spool", "COLLECTOR_DURABILITY", "`spool`: a 202 means the rows are fsync'd to the spool on disk; "
        "`memory`: acknowledged from RAM, faster, but rows not yet inserted are lost if the process dies.")
    spool_max_bytes: int = setting(256 * 1024 * 1024, "COLLECTOR_SPOOL_MAX_BYTES",
                                   "Spool size cap (disk, or RAM in memory mode); past it ingest answers 503, "
                                   "never a false 202.")
    retry_max_ms: int = setting(5_000, "COLLECTOR_RETRY_MAX_MS",
                                "Longest wait between insert retries while the store is down or busy.")
    site_rate_per_s: float = setting(0.0, "COLLECTOR_SITE_RATE_PER_S",
                                     "Per-site rate limit in events per second (0: none); unknown site ids share "
                                     "one bucket at this rate.")
    site_burst: int = setting(0, "COLLECTOR_SITE_BURST", "Burst of the per-site rate limit (0: twice the rate).")
    site_rates: tuple[tuple[str, float], ...] = setting(
        (), "COLLECTOR_SITE_RATES", "Per-site overrides of the rate limit: `site=events_per_second,...`.")
    max_inflight: int = setting(1_000, "COLLECTOR_MAX_INFLIGHT",
                                "Ingest requests in progress at once before ingest answers 503.")
    body_read_timeout_ms: int = setting(10_000, "COLLECTOR_BODY_READ_TIMEOUT_MS",
                                        "A request body must arrive within this time (slow-trickle clients are "
                                        "cut off).")
    shutdown_drain_ms: int = setting(
        1_000, "COLLECTOR_SHUTDOWN_DRAIN_MS", "On SIGTERM, readiness fails and ingest answers 503 for this long "
        "before the listener closes, so a load balancer stops sending first.")
    max_header_bytes: int = setting(16 * 1024, "COLLECTOR_MAX_HEADER_BYTES",
                                    "Largest request head (request line and headers); 431 past it.")
    max_headers: int = setting(100, "COLLECTOR_MAX_HEADERS", "Most header lines in a request; 431 past it.")
    max_url_bytes: int = setting(8 * 1024, "COLLECTOR_MAX_URL_BYTES",
                                 "Longest request target (path and query); 414 past it.")
    request_deadline_ms: int = setting(10_000, "COLLECTOR_REQUEST_DEADLINE_MS",
                                       "A request must arrive whole, head and body, within this time of its first "
                                       "byte, or the connection is cut.")
    idle_timeout_ms: int = setting(5_000, "COLLECTOR_IDLE_TIMEOUT_MS",
                                   "How long a connection may wait for its first or next request (keep-alive).")
    max_connections: int = setting(0, "COLLECTOR_MAX_CONNECTIONS",
                                   "Open connections per process; 0: sized from the open-descriptor limit "
                                   "(RLIMIT_NOFILE less a quarter).")
    max_connections_per_network: int = setting(
        256, "COLLECTOR_MAX_CONNECTIONS_PER_NETWORK", "Open connections per client network (/24 IPv4, /56 IPv6) "
        "per process; trusted proxies are exempt.")
    referrer_spam_list: Path | None = setting(
        None, "COLLECTOR_REFERRER_SPAM_LIST", "A referrer-spam host list (one host per line, Matomo's format); "
        "unset: no referrer is dropped as spam.")

def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def parse_networks(raw: str, name: str = "COLLECTOR_TRUSTED_PROXIES") -> tuple[Network, ...]:
    """Parse a comma/space separated CIDR list; a bare address is a /32 or /128."""
    nets = []
    for part in raw.replace(",", " ").split():
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(f"{name}: {part!r} is not an address or CIDR network") from None
    return tuple(nets)


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    geoip = env.get("COLLECTOR_GEOIP_DB")
    level = env.get("COLLECTOR_LOG_LEVEL", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"COLLECTOR_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    return Settings(
        data_dir=Path(env.get("COLLECTOR_DATA_DIR") or "data"),
        clickhouse_url=_server_url(env),
        clickhouse_ingest_url=_ingest_url(env),
        clickhouse_cluster=_cluster(env),
        secret_hex=_secret(env),
        store_connections=_int(env, "COLLECTOR_STORE_CONNECTIONS", 4, 1),
        config_path=Path(env.get("COLLECTOR_CONFIG") or DEMO_CONFIG),
        admin_token=env.get("COLLECTOR_ADMIN_TOKEN") or None,
        trusted_proxies=parse_networks(env.get("COLLECTOR_TRUSTED_PROXIES", "")),
        geoip_db=Path(geoip) if geoip else None,
        flush_rows=_int(env, "COLLECTOR_FLUSH_ROWS", 50_000, 1),
        flush_interval_ms=_int(env, "COLLECTOR_FLUSH_INTERVAL_MS", 1_000, 1),
        buffer_max_rows=_int(env, "COLLECTOR_BUFFER_MAX_ROWS", 200_000, 1),
        log_level=level,
        durability=_choice(env, "COLLECTOR_DURABILITY", ("spool", "memory")),
        spool_max_bytes=_int(env, "COLLECTOR_SPOOL_MAX_BYTES", 256 * 1024 * 1024, 1024),
        retry_max_ms=_int(env, "COLLECTOR_RETRY_MAX_MS", 5_000, 1),
        site_rate_per_s=float(_int(env, "COLLECTOR_SITE_RATE_PER_S", 0, 0)),
        site_burst=_int(env, "COLLECTOR_SITE_BURST", 0, 0),
        site_rates=_rates(env),
        max_inflight=_int(env, "COLLECTOR_MAX_INFLIGHT", 1_000, 1),
        body_read_timeout_ms=_int(env, "COLLECTOR_BODY_READ_TIMEOUT_MS", 10_000, 1),
        shutdown_drain_ms=_int(env, "COLLECTOR_SHUTDOWN_DRAIN_MS", 1_000, 0),
        max_header_bytes=_int(env, "COLLECTOR_MAX_HEADER_BYTES", 16 * 1024, 1024),
        max_headers=_int(env, "COLLECTOR_MAX_HEADERS", 100, 10),
        max_url_bytes=_int(env, "COLLECTOR_MAX_URL_BYTES", 8 * 1024, 256),
        request_deadline_ms=_int(env, "COLLECTOR_REQUEST_DEADLINE_MS", 10_000, 100),
        idle_timeout_ms=_int(env, "COLLECTOR_IDLE_TIMEOUT_MS", 5_000, 100),
        max_connections=_int(env, "COLLECTOR_MAX_CONNECTIONS", 0, 0),
        max_connections_per_network=_int(env, "COLLECTOR_MAX_CONNECTIONS_PER_NETWORK", 256, 1),
        referrer_spam_list=_existing_file(env, "COLLECTOR_REFERRER_SPAM_LIST"),
    )


def _cluster(env: Mapping[str, str]) -> str | None:
    value = (env.get("CLICKHOUSE_CLUSTER") or "").strip() or None
    if value and not env.get("CLICKHOUSE_URL"):
        raise SettingsError("CLICKHOUSE_CLUSTER is set without CLICKHOUSE_URL: a cluster is reached through a server")
    if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise SettingsError(f"CLICKHOUSE_CLUSTER must be a cluster name (letters, digits, underscores), got {value!r}")
    return value


def _ingest_url(env: Mapping[str, str]) -> str | None:
    value = env.get("CLICKHOUSE_INGEST_URL") or None
    if value and not env.get("CLICKHOUSE_URL"):
        raise SettingsError("CLICKHOUSE_INGEST_URL is set without CLICKHOUSE_URL: it names the writer's user on "
                            "a server, and the collector reaches that server through CLICKHOUSE_URL")
    return value


def _existing_file(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    if not value:
        return None
    if not Path(value).is_file():
        raise SettingsError(f"{name}: {value!r} is not a readable file")
    return Path(value)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or choices[0]).strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _rates(env: Mapping[str, str]) -> tuple[tuple[str, float], ...]:
    """COLLECTOR_SITE_RATES: `site=events_per_second,...`, overriding COLLECTOR_SITE_RATE_PER_S per site."""
    try:
        return tuple(parse_rates(env.get("COLLECTOR_SITE_RATES", "")).items())
    except ValueError as exc:
        raise SettingsError(f"COLLECTOR_SITE_RATES: {exc}") from None


def _server_url(env: Mapping[str, str]) -> str | None:
    """CLICKHOUSE_URL, checked now so that a typo fails at startup (the error never shows the password)."""
    raw = (env.get("CLICKHOUSE_URL") or "").strip()
    if not raw:
        return None
    try:
        parse_server_url(raw)
    except ServerUrlError as exc:
        raise SettingsError(str(exc)) from None
    return raw


def _secret(env: Mapping[str, str]) -> str | None:
    """COLLECTOR_SECRET: 64 hex characters (32 random bytes, e.g. `openssl rand -hex 32`)."""
    raw = (env.get("COLLECTOR_SECRET") or "").strip().lower()
    if not raw:
        return None
    if len(raw) != 64 or any(c not in "0123456789abcdef" for c in raw):
        raise SettingsError("COLLECTOR_SECRET must be 64 hexadecimal characters (32 bytes), e.g. the output of "
                            "`openssl rand -hex 32`")
    return raw
