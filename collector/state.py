"""The collector's state: everything a request needs, built once at startup from the settings."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config as config_mod
from . import pipeline, receipts, secret_key
from . import request as edge
from .agents import AgentCache
from .geo import GeoLookup, default_db_path
from .limits import Saturation, SiteLimits
from .metrics import Metrics
from .referrers import SpamList
from .salts import Keeper, Salts
from .settings import Settings
from .spool import Spool
from .store import Store, open_store
from .writer import Writer

STATIC = Path(__file__).resolve().parent / "static"
# The only static files served: the tracker, the extension it loads when a site enables an option, and the
# consent-source extension that one loads when a site names its consent banner (data-consent-source).
TRACKER_FILES = ("t.js", "t.x.js", "t.c.js")


@dataclass
class Collector:
    """Everything a request needs, built once at startup (the clock and store are injectable)."""

    settings: Settings
    config: config_mod.Config
    ctx: pipeline.Context
    validate: Callable[[Any], list[Any]]
    metrics: Metrics
    clock: Callable[[], float]
    store: Store | None = None
    writer: Writer | None = None
    ready: bool = False
    tracker: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # file name -> (body, ETag)
    consent_worker: receipts.Worker | None = None
    limits: SiteLimits | None = None
    saturation: Saturation | None = None


def load_secret(settings: Settings, keeper: Keeper | Path | None = None) -> bytes:
    """The key for HMACs of consented ids: the same for every process and machine of a deployment, stable
    across restarts, random, never logged (secret_key.py says where it lives)."""
    if settings.secret_hex:
        return bytes.fromhex(settings.secret_hex)
    if settings.clickhouse_url:
        from .salt_table import TableKeeper

        store = keeper.store if isinstance(keeper, TableKeeper) else open_store(settings)
        return secret_key.from_store(store, settings.data_dir)
    return secret_key.from_file(settings.data_dir)


def salt_keeper(settings: Settings) -> Keeper | Path:
    """Where every process reads the daily salts: a table on the server (server mode), else files in the
    data dir shared by the processes of `serve --workers N`."""
    if settings.clickhouse_url:
        from .salt_table import TableKeeper

        return TableKeeper(open_store(settings))
    return settings.data_dir / "salts"


def build_collector(settings: Settings, clock: Callable[[], float] = time.time,
                    metrics: Metrics | None = None) -> Collector:
    config = config_mod.load(settings.config_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keeper = salt_keeper(settings)
    ctx = pipeline.Context(
        config=config, geo=GeoLookup(settings.geoip_db or default_db_path()), agents=AgentCache(),
        salts=Salts(keeper, clock), secret=load_secret(settings, keeper),
        trusted_proxies=settings.trusted_proxies, spam=SpamList.load(settings.referrer_spam_list),
    )
    metrics = metrics or Metrics()
    # The versions of the maintained lists in use, as info-style series (value = entries).
    metrics.inc("collector_list_entries", ctx.agents.bots.size, list="bots_isbot", version=ctx.agents.bots.version)
    metrics.inc("collector_list_entries", len(ctx.spam.domains), list="referrer_spam", version=ctx.spam.version)
    bodies = {name: (STATIC / name).read_bytes() if (STATIC / name).exists() else b"" for name in TRACKER_FILES}
    tracker = {name: (body, f'"{hashlib.sha256(body).hexdigest()[:16]}"') for name, body in bodies.items()}
    return Collector(settings=settings, config=config, ctx=ctx, metrics=metrics, clock=clock,
                     validate=edge.load_validator(edge.SCHEMA_PATH),
                     tracker=tracker,
                     limits=SiteLimits(settings.site_rate_per_s, settings.site_burst, config.sites,
                                       dict(settings.site_rates)),
                     saturation=Saturation(settings.max_inflight))


def open_spool(settings: Settings, directory: Path | None = None) -> Spool:
    """The spool on disk (durable; `directory`, by default <data dir>/spool), or in RAM (memory durability)."""
    directory = (directory or settings.data_dir / "spool") if settings.durability == "spool" else None
    return Spool(directory, max_bytes=settings.spool_max_bytes, max_rows=settings.buffer_max_rows,
                 seal_rows=settings.flush_rows, seal_interval_s=settings.flush_interval_ms / 1000)
