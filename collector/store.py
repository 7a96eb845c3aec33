"""The ClickHouse connection (embedded chDB by default, a server when CLICKHOUSE_URL is set) and migrations."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError

from .cluster import everywhere, plan
from .settings import SCHEMAS_DIR, Settings

log = logging.getLogger("collector.store")
MIGRATIONS_DIR = SCHEMAS_DIR / "clickhouse"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class MigrationsMissing(RuntimeError):
    """No migration files where the schema should be: a broken install, never an empty schema."""


class StoreLocked(RuntimeError):
    """The embedded store is held by another process (usually a running `collector serve`)."""


class Store:
    """One client, shared by the writer thread and admin queries under a lock (chDB is not re-entrant)."""

    def __init__(self, client: Any, embedded: bool, path: str | None = None) -> None:
        self.client = client
        self.embedded = embedded
        self.path = path  # the embedded engine's directory: more handles on the same engine open it (read side)
        # The only process writing to this store (embedded): its writer has seen every key it stored.
        self.sole_writer = embedded
        self.lock = threading.Lock()

    def command(self, sql: str, settings: dict[str, Any] | None = None) -> Any:
        with self.lock:
            return self.client.command(sql, settings=settings)

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self.lock:
            return list(self.client.query(sql, parameters=parameters).result_rows)

    def insert_rows(self, table: str, columns: Sequence[str], block: bytes, token: str) -> None:
        """Insert a JSONCompactEachRow block; `token` makes a retry of the same block a no-op."""
        settings = {"insert_deduplication_token": token, "deduplicate_blocks_in_dependent_materialized_views": 1}
        with self.lock:
            self.client.raw_insert(table, list(columns), block, settings=settings, fmt="JSONCompactEachRow")

    def close(self) -> None:
        with self.lock:
            self.client.close()


def open_store(settings: Settings) -> Store:
    if settings.clickhouse_url:
        return Store(_server_client(settings.clickhouse_url), embedded=False)
    path = settings.data_dir.resolve() / "clickhouse"
    path.mkdir(parents=True, exist_ok=True)
    try:
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    except Exception as exc:  # chDB reports a held lock as a generic initialisation error
        raise StoreLocked(f"cannot open the embedded store at {path}: is a collector already running "
                          "on this data directory? Stop it first: one process at a time can open an "
                          "embedded store.") from exc
    return Store(client, embedded=True, path=str(path))


def _server_client(url: str) -> Any:
    parts = urlsplit(url)
    return clickhouse_connect.get_client(
        host=parts.hostname or "localhost", port=parts.port or (8443 if parts.scheme == "https" else 8123),
        username=parts.username or "default", password=parts.password or "",
        secure=parts.scheme == "https", database=parts.path.strip("/") or "analytics",
    )


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, str]]:
    """(version, name, sql) for every NNN_name.sql file, in order; none at all is an error (an install
    that lost its schema must not start on an empty store, nor report "applied 0 migrations")."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} is not named NNN_name.sql")
        found.append((int(match.group(1)), path.stem, path.read_text(encoding="utf-8")))
    if not found:
        raise MigrationsMissing(f"no migration files (NNN_name.sql) in {directory}: the installation is "
                                "incomplete; reinstall the package")
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migration files share a number")
    return found


MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS analytics_meta.migrations (version UInt32, name String, "
    "applied_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY version "
    "COMMENT 'Schema migrations applied to this store'"
)


def meta_statements(cluster: str | None = None) -> list[str]:
    """The database and table that record the migrations (on a cluster: one replicated copy on every host)."""
    on = f" ON CLUSTER '{cluster}'" if cluster else ""
    return [f"CREATE DATABASE IF NOT EXISTS analytics_meta{on}", everywhere(MIGRATIONS_DDL, cluster)]


def migrate(store: Store, directory: Path = MIGRATIONS_DIR, cluster: str | None = None) -> list[str]:
    """Apply the migrations not yet recorded in analytics_meta.migrations; return their names. Every
    deployment runs the statements `cluster.plan` renders from the files: the files themselves without a
    cluster, their ON CLUSTER rendering with one."""
    for statement in meta_statements(cluster):
        store.command(statement)
    done = {row[0] for row in store.query("SELECT version FROM analytics_meta.migrations")}
    files = migration_files(directory)
    applied = []
    for (version, name, _), (_, statements) in zip(files, plan(files, cluster), strict=True):
        if version in done:
            continue
        try:
            for statement in statements:
                store.command(statement)
        except ClickHouseError as exc:
            raise RuntimeError(f"migration {name} failed: {exc}") from None
        store.command(f"INSERT INTO analytics_meta.migrations (version, name) VALUES ({version}, '{name}')")
        log.info("migration applied", extra={"migration": name})
        applied.append(name)
    return applied
