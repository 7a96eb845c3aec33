"""Process settings, read once from the environment at startup; a bad value fails loudly."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("data")
    # Server mode: ClickHouse's HTTP interface, `http(s)://user:password@host:port/database`, optionally
    # `?proxy_path=/path` for a server behind a path (another collector's /sql). Unset: the embedded store.
    clickhouse_url: str | None = field(default=None, repr=False)  # holds a password: never in a repr
    # The HMAC key for consented visitor ids, 64 hex characters, the same on every machine of a deployment.
    # Unset: in server mode the key stored once in the server (analytics_meta.secret_key), embedded the data
    # dir's secret.key. Never logged.
    secret_hex: str | None = field(default=None, repr=False)
    # Server mode: HTTP connections to ClickHouse per process, so the writer, housekeeping, visits closing and
    # rights requests do not queue behind one another (embedded mode has one engine handle and a lock).
    store_connections: int = 4
    config_path: Path = DEMO_CONFIG
    admin_token: str | None = None
    trusted_proxies: tuple[Network, ...] = ()
    geoip_db: Path | None = None
    # The writer flushes at whichever comes first: this many rows, or this long after the first row.
    flush_rows: int = 50_000
    flush_interval_ms: int = 1_000
    # Upper bound on rows waiting for the writer; past it the collector answers 503 instead of growing.
    buffer_max_rows: int = 200_000
    # Accept client timestamps this far in the past / future; further is a 400.
    ts_past_window_s: int = 24 * 3600
    ts_future_window_s: int = 300
    log_level: str = "INFO"
    # "spool": a 202 means the rows are fsync'd to the spool on disk; "memory": acknowledged from RAM,
    # faster, but rows not yet inserted are lost if the process dies (see README, Reliability).
    durability: str = "spool"
    # Spool size cap (disk, or RAM in memory mode); past it the collector answers 503, never a false 202.
    spool_max_bytes: int = 256 * 1024 * 1024
    # Longest wait between insert retries while the store is down.
    retry_max_ms: int = 5_000
    # Per-site rate limit in events per second (0: none) with its burst (0: twice the rate), and
    # per-site overrides; unknown site ids share one bucket at the default rate.
    site_rate_per_s: float = 0.0
    site_burst: int = 0
    site_rates: tuple[tuple[str, float], ...] = ()
    # Ingest requests in progress at once before the collector answers 503 (global saturation).
    max_inflight: int = 1_000
    # A request body must arrive within this time (slow-trickle clients are cut off).
    body_read_timeout_ms: int = 10_000
    # On SIGTERM readiness fails and ingest answers 503 for this long before the listener closes,
    # so a load balancer stops sending traffic before connections are refused.
    shutdown_drain_ms: int = 1_000
    # HTTP edge (README, Deploy). A request's head (request line + headers) is at most this many bytes
    # (431 past it): 16 KiB, like common servers, is far above what a browser sends.
    max_header_bytes: int = 16 * 1024
    # At most this many header lines (431 past it); browsers send about 10-20.
    max_headers: int = 100
    # The request target (path and query) is at most this many bytes (414 past it), as nginx and Apache
    # allow a request line; the beacon's target is /api/event, and the pixel takes its page from Referer.
    max_url_bytes: int = 8 * 1024
    # A request must arrive whole, head and body, within this time of its first byte, or the
    # connection is cut: 64 KiB in 10 s is 6.4 KB/s, slower than any client we can serve anyway.
    request_deadline_ms: int = 10_000
    # A connection may wait this long for its first or next request (keep-alive), then it is closed.
    idle_timeout_ms: int = 5_000
    # Open connections per process; 0: sized from the open-descriptor limit (RLIMIT_NOFILE less a quarter).
    max_connections: int = 0
    # Open connections per client network (/24 IPv4, /56 IPv6) per process, so one client cannot hold
    # them all; trusted proxies are exempt (they carry many clients; cap each client at the proxy).
    max_connections_per_network: int = 256
    # A referrer-spam host list (one host per line, Matomo's format); none: no referrer is dropped as spam.
    referrer_spam_list: Path | None = None


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
