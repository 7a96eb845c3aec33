"""The HMAC key for consented visitor ids: one key for every process and machine of a deployment.

The same consented browser must get the same visitor id whichever collector receives its events, and a
withdrawal handled by one machine must find the rows every other machine wrote: the id is HMAC(key, …), so the
key is shared. In order of precedence:

1. `COLLECTOR_SECRET` (64 hex characters), given to every machine by the operator;
2. server mode: the key stored once in the server, `analytics_meta.secret_key`. The first collector to start
   creates it; collectors starting at the same moment all insert a candidate with one
   insert_deduplication_token, the server keeps the first insert, and every one reads that key back. When the
   table is empty and this machine has a `secret.key` (an embedded store moving to a server), that key seeds
   the table, so the ids already stored stay the same visitors;
3. embedded mode: `secret.key` in the data directory, created on first start (all the processes of
   `serve --workers N` share the directory).

The key never reaches a log line, an error or a metric.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

log = logging.getLogger("collector.secret")
KEY_BYTES = 32
TABLE = "analytics_meta.secret_key"
DDL = (
    "CREATE TABLE IF NOT EXISTS analytics_meta.secret_key (key FixedString(32), "
    "created_at DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree ORDER BY created_at "
    "SETTINGS non_replicated_deduplication_window = 100 "
    "COMMENT 'The HMAC key of consented visitor ids, shared by every collector; created once, never rotated'"
)
TOKEN = "collector-secret-key"  # every candidate carries it: the server keeps the first insert only


def from_file(data_dir: Path) -> bytes:
    """The data directory's key (embedded mode), created on first use: random, mode 0600."""
    path = data_dir / "secret.key"
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    path.touch(mode=0o600)
    path.write_text(key.hex())
    return key


def from_store(store: Any, data_dir: Path) -> bytes:
    """The deployment's key from the server, created once (seeded by this machine's secret.key, if any)."""
    store.command("CREATE DATABASE IF NOT EXISTS analytics_meta")
    store.command(DDL)
    key = _stored(store)
    local = data_dir / "secret.key"
    if key is None:
        seed = bytes.fromhex(local.read_text().strip()) if local.exists() else secrets.token_bytes(KEY_BYTES)
        with store.connection() as client:
            client.insert(TABLE, [[seed]], column_names=["key"], settings={"insert_deduplication_token": TOKEN})
        key = _stored(store)
        assert key is not None, "a key inserted is readable"
    if local.exists() and bytes.fromhex(local.read_text().strip()) != key:
        log.warning("this data directory's secret.key differs from the deployment's key in the server; the "
                    "server's key is used (ids hashed with the local key alone are no longer this visitor's)")
    return key


def _stored(store: Any) -> bytes | None:
    rows = store.query(f"SELECT argMin(key, (created_at, key)), count() FROM {TABLE}")
    key, count = rows[0]
    return bytes(key) if count and len(key) == KEY_BYTES else None
