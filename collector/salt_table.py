"""The daily salts in a ClickHouse table, for server mode: every collector process on every machine reads
the same salt of a day.

`analytics_meta.daily_salts` holds one partition per day. A process asks for a day's salt; if no row
exists it inserts a random one and reads again, and the day's salt is the row the server stored first
(`created_at` is the server's clock; ties go to the smaller salt), so a process that raced another
adopts the first one at its next read. Salts.rotate reads the table again on every housekeeping beat
(receipts.HOUSEKEEPING_S): that is the short cache, and the bound on how long a lost race can split a
day's visitors. A day older than yesterday is destroyed with DROP PARTITION, and proven gone when
`system.parts` shows no part of that partition holding a row (the table keeps dropped parts for one
second only). The collector's ClickHouse user needs INSERT, SELECT and ALTER DROP PARTITION on it.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time

from .salts import SALT_BYTES
from .store import Store

log = logging.getLogger("collector.salts")
TABLE = "analytics_meta.daily_salts"
# A dropped part stays on disk for old_parts_lifetime: one second, not ClickHouse's eight minutes.
DDL = (
    "CREATE TABLE IF NOT EXISTS analytics_meta.daily_salts (day Date, salt FixedString(32), "
    "created_at DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree PARTITION BY day ORDER BY (day, created_at) "
    "SETTINGS old_parts_lifetime = 1 "
    "COMMENT 'Daily salts of the anonymous tier: only today''s and yesterday''s exist'"
)
PROOF_TIMEOUT_S = 30.0


def _date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


class TableKeeper:
    """salts.Keeper over a ClickHouse table (a server shared by every collector)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.command("CREATE DATABASE IF NOT EXISTS analytics_meta")
        store.command(DDL)

    def _stored(self, day: int) -> bytes | None:
        rows = self.store.query(
            f"SELECT argMin(salt, (created_at, salt)), count() FROM {TABLE} WHERE day = {{day:Date}}",
            {"day": _date(day)})
        salt, count = rows[0]
        return bytes(salt) if count and len(salt) == SALT_BYTES else None

    def load_or_create(self, day: int) -> bytes:
        stored = self._stored(day)
        if stored is not None:
            return stored
        candidate = secrets.token_bytes(SALT_BYTES)
        with self.store.connection() as client:
            client.insert(TABLE, [[_date(day), candidate]], column_names=["day", "salt"])
        stored = self._stored(day)
        assert stored is not None, "a salt inserted is readable"
        return stored

    def destroy_except(self, keep: set[int]) -> list[int]:
        rows = self.store.query(f"SELECT DISTINCT day FROM {TABLE}")
        days = [(d - dt.date(1970, 1, 1)).days for (d,) in rows]
        destroyed = []
        for day in days:
            if day in keep:
                continue
            partition = _date(day).strftime("%Y%m%d")  # from the table's own Date values, never a request
            self.store.command(f"ALTER TABLE {TABLE} DROP PARTITION ID '{partition}'")
            if not self.wait_gone(partition):
                log.error("salt partition dropped but not yet proven gone", extra={"day": _date(day).isoformat()})
            destroyed.append(day)
        return destroyed

    def rows_on_disk(self, partition: str) -> int:
        """Rows in every part of `partition` that ClickHouse still has, active or not (system.parts)."""
        rows = self.store.query(
            "SELECT sum(rows) FROM system.parts WHERE database = 'analytics_meta' AND table = 'daily_salts' "
            "AND partition_id = {p:String}", {"p": partition})
        return int(rows[0][0] or 0)

    def wait_gone(self, partition: str, timeout_s: float = PROOF_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.rows_on_disk(partition):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True
