"""Page lists read from the block rollups (collector/read/blocks.py, schemas/clickhouse/160-165): a range splits
into aligned blocks that cover each of its days once, and the answers (admin and suppressed) are exactly the
answers read day by day from the daily rollups."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from bench import generate
from collector import config as config_mod
from collector import visits
from collector.read import answer, blocks, builder, query
from collector.store import Store

SITE = "bench.example"
EPOCH = dt.date(1970, 1, 1)


@pytest.mark.parametrize("length", [1, 3, 4, 7, 16, 30, 31, 45, 90, 400])
def test_a_range_splits_into_aligned_blocks_covering_each_day_once(length: int) -> None:
    for offset in range(40):
        start = dt.date(2026, 1, 1) + dt.timedelta(days=offset)
        end = start + dt.timedelta(days=length - 1)
        covered = []
        for span, first, last in blocks.split(start, end):
            assert span in blocks.SPANS and (first - EPOCH).days % span == 0 and (last - first).days % span == 0
            covered += [first + dt.timedelta(days=i) for i in range((last - first).days + span)]
        assert covered == [start + dt.timedelta(days=i) for i in range(length)]
    month = blocks.split(dt.date(2026, 11, 7), dt.date(2026, 12, 6))
    assert sum((last - first).days // span + 1 for span, first, last in month) < 10  # sketches per page, not 30
    assert blocks.split(dt.date(2026, 1, 2), dt.date(2026, 1, 1)) == []


QUERIES = {
    "top pages": {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]},
    "entry pages": {"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"],
                    "dimensions": ["visit:entry_page"]},
    "exit pages": {"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"],
                   "filters": [["contains", "visit:exit_page", ["blog"]]]},
}


def _answers(store: Store, admin: bool, today: dt.date) -> dict[str, Any]:
    config = config_mod.parse({"sites": {SITE: {"domains": [SITE]}}})
    out = {}
    for name, body in QUERIES.items():
        for date_range in ("7d", "30d"):
            q = query.parse({"site_id": SITE, "date_range": date_range, "pagination": {"limit": 500},
                             "include": {"total_rows": True}, **body}, today)
            result = answer.run(store, config, q, today, admin=admin)
            out[f"{name} {date_range}"] = (result["results"], result["meta"].get("total_rows"),
                                           result["meta"]["suppressed_rows"], result["meta"]["sources"])
    return out


def test_page_lists_from_blocks_equal_the_daily_rollups(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.command(f"INSERT INTO analytics.events {generate.events_select(30_000)}")
    visits.close_due(store, time.time())  # today and yesterday stay open (raw visits)
    today = dt.datetime.now(dt.UTC).date()
    for admin in (True, False):
        by_block = _answers(store, admin, today)
        with monkeypatch.context() as m:
            m.setattr(builder, "BLOCKED", ())
            by_day = _answers(store, admin, today)
        for name, (rows, total, suppressed, sources) in by_block.items():
            assert any("_blocks/" in s for s in sources), (name, sources)
            assert not any("_blocks/" in s for s in by_day[name][3])
            assert (rows, total, suppressed) == by_day[name][:3], name
            assert len(rows) > 3, name
    # Without the admin's k = 0, the read user's k = 5 folds a tail of pages: both paths fold the same rows.
    assert by_block["top pages 30d"][2] > 0
