"""The ClickHouse connection (embedded chDB by default, a server when CLICKHOUSE_URL is set) and migrations."""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError

from . import server_url
from .cluster import everywhere, plan
from .settings import SCHEMAS_DIR, Settings

log = logging.getLogger("collector.store")
MIGRATIONS_DIR = SCHEMAS_DIR / "clickhouse"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
READ_HANDLES = 2  # embedded: reads at once on handles of their own (one per core of a small machine)


class MigrationsMissing(RuntimeError):
    """No migration files where the schema should be: a broken install, never an empty schema."""


class StoreLocked(RuntimeError):
    """The embedded store is held by another process (usually a running `collector serve`)."""


class Store:
    """The store's connections. Embedded: one chDB client shared by every thread under a lock (chDB hosts
    one engine per process and a handle runs one query at a time), and for reads handles of their own
    (`beside_writer`). Server: a small pool of HTTP clients,
    one per concurrent caller, so the writer, housekeeping, visits closing and rights requests of a
    process run side by side as they would on any ClickHouse server."""

    def __init__(self, client: Any, embedded: bool, path: str | None = None,
                 factory: Callable[[], Any] | None = None, pool_size: int = 1) -> None:
        self.client = client  # the first connection: for a caller that needs no other (the CLI)
        self.embedded = embedded
        self.path = path  # the embedded engine's directory: more handles on the same engine open it (read side)
        # The only process writing to this store (embedded): its writer has seen every key it stored.
        self.sole_writer = embedded
        self.lock = threading.Lock()  # embedded: the one client's lock
        self.cluster: str | None = None  # server mode on a cluster: its name (CLICKHOUSE_CLUSTER)
        self._factory = factory
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._idle.put(client)
        self._slots = threading.BoundedSemaphore(pool_size if factory is not None else 1)
        self._made = 1
        self._pool_lock = threading.Lock()
        self._every = [client]
        self._read_idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._read_slots = threading.BoundedSemaphore(READ_HANDLES)
        self.generation = 0  # moves after every use of `connection` (see there)
        self.memo: dict[Any, Any] = {}  # the read side's short-lived facts (collector/read/answer.py)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A client for this thread alone until the block ends (embedded: the one client, under the lock).
        Whatever it does may change the facts reads plan with (collector/read/answer.py): `generation` moves
        when it ends. Raw event inserts (`insert_rows`) change none and leave it."""
        try:
            with self._connect() as client:
                yield client
        finally:
            self.generation += 1

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        if self._factory is None:
            with self.lock:
                yield self.client
            return
        with self._slots:
            try:
                client = self._idle.get_nowait()
            except queue.Empty:
                client = self._factory()
                with self._pool_lock:
                    self._made += 1
                    self._every.append(client)
            try:
                yield client
            finally:
                self._idle.put(client)

    @contextlib.contextmanager
    def beside_writer(self) -> Iterator[Any]:
        """A client for work that need not wait for the writer: reads (the stats API, the dashboard) and the
        closer's builds and card lists. Embedded: a handle of its own on the engine, never the writer's lock,
        at most READ_HANDLES at once (chDB lets handles share the engine and releases the GIL while it works,
        so two of them use both cores); server: a pooled client. A caller that changes what reads plan with
        says so (`changed`)."""
        if not self.embedded or not self.path:
            with self.connection() as client:
                yield client
            return
        with self._read_slots:
            try:
                client = self._read_idle.get_nowait()
            except queue.Empty:
                client = clickhouse_connect.get_client(dsn=f"chdb://{self.path}")
                with self._pool_lock:
                    self._every.append(client)
            try:
                yield client
            finally:
                self._read_idle.put(client)

    def changed(self) -> None:
        """Work beside the writer changed the facts reads plan with (see `connection`)."""
        self.generation += 1

    @property
    def connections_made(self) -> int:
        return self._made

    def command(self, sql: str, settings: dict[str, Any] | None = None) -> Any:
        with self.connection() as client:
            return client.command(sql, settings=settings)

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connection() as client:
            return list(client.query(sql, parameters=parameters).result_rows)

    def insert_rows(self, table: str, columns: Sequence[str], block: bytes, token: str) -> None:
        """Insert a JSONCompactEachRow block; `token` makes a retry of the same block a no-op."""
        settings = {"insert_deduplication_token": token, "deduplicate_blocks_in_dependent_materialized_views": 1}
        with self._connect() as client:
            client.raw_insert(table, list(columns), block, settings=settings, fmt="JSONCompactEachRow")

    def close(self) -> None:
        with self.lock, self._pool_lock:
            for client in self._every:
                client.close()


def open_store(settings: Settings) -> Store:
    if settings.clickhouse_url:
        kwargs = server_url.parse(settings.clickhouse_url).client_kwargs()

        def connect() -> Any:
            # No session: a ClickHouse session runs one query at a time, and each pooled client is its own caller.
            return clickhouse_connect.get_client(**kwargs, autogenerate_session_id=False)

        store = Store(connect(), embedded=False, factory=connect, pool_size=settings.store_connections)
        store.cluster = settings.clickhouse_cluster
        return store
    path = settings.data_dir.resolve() / "clickhouse"
    path.mkdir(parents=True, exist_ok=True)
    try:
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    except Exception as exc:  # chDB reports a held lock as a generic initialisation error
        raise StoreLocked(f"cannot open the embedded store at {path}: is a collector already running "
                          "on this data directory? Stop it first: one process at a time can open an "
                          "embedded store.") from exc
    return Store(client, embedded=True, path=str(path))


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
# Claims: the first collector to claim a migration applies it; the others wait for its record. Every claim of a
# (version, round) carries one insert_deduplication_token, so the server keeps the first and drops the rest:
# the claim read back names one owner, the same for every reader, however the inserts raced. A claim whose
# migration is still not recorded after CLAIM_TTL_S has lapsed (its collector died mid-way): the next round
# may be claimed, and the migration runs again (migrations are written to survive a second run). On a cluster
# the table is replicated to every host, whose inserts deduplicate by token as well.
CLAIMS_DDL = (
    "CREATE TABLE IF NOT EXISTS analytics_meta.migration_claims (version UInt32, round UInt32, owner String, "
    "claimed_at DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree ORDER BY (version, round) "
    "SETTINGS non_replicated_deduplication_window = 10000 "
    "COMMENT 'Which collector applies each migration: one claim per (version, round) is kept (dedup token)'"
)
CLAIM_TTL_S = 300.0  # longer than any migration takes; then another collector may take a dead one's claim


class MigrationStalled(RuntimeError):
    """A migration stays unrecorded although its claims keep lapsing."""


def meta_statements(cluster: str | None = None) -> list[str]:
    """The database and table that record the migrations (on a cluster: one replicated copy on every host)."""
    on = f" ON CLUSTER '{cluster}'" if cluster else ""
    return [f"CREATE DATABASE IF NOT EXISTS analytics_meta{on}", everywhere(MIGRATIONS_DDL, cluster)]


def migrate(store: Store, directory: Path = MIGRATIONS_DIR, cluster: str | None = None,
            claim_ttl_s: float = CLAIM_TTL_S) -> list[str]:
    """Apply the migrations not yet recorded in analytics_meta.migrations; return the names this call applied.
    Any number of collectors may call it at once on one server: each migration is applied exactly once. Every
    deployment runs the statements `cluster.plan` renders from the files: the files themselves without a
    cluster, their ON CLUSTER rendering with one."""
    for statement in meta_statements(cluster):
        store.command(statement)
    files = migration_files(directory)
    done = _applied(store)
    if all(version in done for version, _, _ in files):
        return []
    store.command(everywhere(CLAIMS_DDL, cluster))
    me = uuid.uuid4().hex
    applied = []
    for (version, name, _), (_, statements) in zip(files, plan(files, cluster), strict=True):
        if version in done or not _mine(store, version, name, me, claim_ttl_s):
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


def _applied(store: Store) -> set[int]:
    return {row[0] for row in store.query("SELECT version FROM analytics_meta.migrations")}


def _mine(store: Store, version: int, name: str, me: str, ttl_s: float) -> bool:
    """True when `me` holds the claim on `version` and must apply it; False once another collector recorded
    it. Waits (bounded by the claims' lapse) while another collector holds a live claim."""
    deadline = time.monotonic() + ttl_s + 60  # a live claim lapses within ttl_s: then this collector takes it
    tried = -1
    while time.monotonic() < deadline:
        if version in _applied(store):
            return False
        latest = store.query("SELECT round, owner, dateDiff('millisecond', claimed_at, now64(3)) / 1000 FROM "
                             "analytics_meta.migration_claims WHERE version = {v:UInt32} ORDER BY round DESC "
                             "LIMIT 1", {"v": version})
        if latest and float(latest[0][2]) < ttl_s:
            if latest[0][1] == me:
                return True
            time.sleep(0.25)  # another collector is applying it; polling gently leaves it the server
            continue
        # The next round (a round whose claim rows were deleted by hand has its token spent: skip past it).
        tried = max(int(latest[0][0]) + 1 if latest else 0, tried + 1)
        store.command(f"INSERT INTO analytics_meta.migration_claims (version, round, owner) SETTINGS "
                      f"insert_deduplication_token = 'claim-{version}-{tried}' VALUES ({version}, {tried}, '{me}')")
        owner = store.query("SELECT owner FROM analytics_meta.migration_claims WHERE version = {v:UInt32} AND "
                            "round = {r:UInt32} ORDER BY claimed_at, owner LIMIT 1", {"v": version, "r": tried})
        if owner and owner[0][0] == me:
            return True
    raise MigrationStalled(f"migration {name} is still not recorded {ttl_s + 60:.0f} s after it was claimed; "
                           "check the schema and the collectors' logs, then start one collector alone")
