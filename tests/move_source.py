"""The embedded store a move starts from, built and read in a process of its own (chDB opens one store per
process, and the test process holds the session's): `python tests/move_source.py populate|answers DATA_DIR`.

`answers` prints, as JSON, every table's rows and every dashboard query's answer (schemas/dashboards/*.sql);
`answers_of` computes the same from any clickhouse-connect client, so a server's answers compare with it."""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate  # noqa: E402
from collector import visits  # noqa: E402
from collector.salts import FileKeeper  # noqa: E402
from collector.settings import SCHEMAS_DIR, Settings  # noqa: E402
from collector.store import migrate, open_store  # noqa: E402

SITE = "bench.example"
PARAM = re.compile(r"\{(\w+):([^}]+)\}")


def populate(data_dir: Path) -> None:
    store = open_store(Settings(data_dir=data_dir))
    migrate(store)
    # Two inserts: rows of one day in two parts, as a live store has them, so folding engines hold unmerged rows.
    # The generated month folds into the last 5 days, so closing every day (below) stays quick.
    for rows, offset in ((3000, 0), (2000, 3000)):
        store.command("INSERT INTO analytics.events SELECT * REPLACE (addDays(ts, 5 * intDiv(dateDiff('day', ts, "
                      f"now()), 5)) AS ts) FROM ({generate.events_select(rows, offset)})")
    store.command(f"INSERT INTO analytics.dropped_daily VALUES ('{SITE}', today(), 'bot', 7, 400), "
                  f"('{SITE}', today() - 40, 'consent_denied', 3, 400)")
    store.command("INSERT INTO analytics.consent_receipts (receipt_id, site, ts, visitor_id, action, categories, "
                  "policy_version, source, tier, requests, retention_days) SELECT generateUUIDv4(), "
                  f"'{SITE}', now() - number * 86400, number + 1, 'grant', ['analytics'], 'v1', 'banner', 'full', 1, "
                  "1098 FROM numbers(50)")
    store.command(f"INSERT INTO analytics.site_privacy VALUES ('{SITE}', 5, now(), 1098)")
    # Every day closed: a collector serving the server (the stand-in) finds no day of the store left to close.
    visits.close_due(store, time.time() + 3 * 86400)
    keeper = FileKeeper(data_dir / "salts")
    today = int(time.time() // 86400)
    keeper.load_or_create(today)
    keeper.load_or_create(today - 1)
    store.close()


def answers_of(client: Any) -> dict[str, Any]:
    """Every stored table's row count and every dashboard's answer, JSON-ready."""
    tables = client.query("SELECT name, engine FROM system.tables WHERE database = 'analytics' "
                          "AND engine LIKE '%MergeTree' ORDER BY name").result_rows
    # FINAL where the engine folds rows: a background merge on one side is not a difference.
    counts = {name: client.query(f"SELECT count() FROM analytics.{name}{'' if engine == 'MergeTree' else ' FINAL'}"
                                 ).result_rows[0][0] for name, engine in tables}
    today = dt.datetime.now(dt.UTC).date()
    page, width = client.query("SELECT path, width FROM analytics.heatmap_daily WHERE site = {s:String} "
                               "GROUP BY path, width ORDER BY sum(clicks) DESC, path LIMIT 1",
                               parameters={"s": SITE}).result_rows[0]
    params = {"site": SITE, "from": today - dt.timedelta(days=29), "to": today, "utm": "utm_campaign",
              "goal": "signup", "steps": ["/", "/blog/0-post", "/docs/0-post"], "page": page, "width": width}
    boards = {}
    for path in sorted((SCHEMAS_DIR / "dashboards").glob("*.sql")):
        sql = path.read_text()
        rows = client.query(sql, parameters={k: v for k, v in params.items() if "{" + k + ":" in sql}).result_rows
        boards[path.name] = [list(row) for row in rows]
    return {"counts": counts, "dashboards": orjson.loads(orjson.dumps(boards, default=str))}


def main(command: str, data_dir: str) -> None:
    if command == "populate":
        populate(Path(data_dir))
        return
    store = open_store(Settings(data_dir=Path(data_dir)))
    try:
        sys.stdout.buffer.write(orjson.dumps(answers_of(store.client), default=str))
    finally:
        store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
