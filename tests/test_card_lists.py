"""Page lists kept ready (collector/read/card_lists.py): the standard ranges' top, entry and exit pages read from
the round's lists equal, row for row and for the reader (suppressed, perturbed) and the admin, the same lists
merged from the page windows, day rollups and the open days' build; only whole attempts of the current build
are read; filters and other ranges are read as before; a new build is read merged until its lists exist."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import pytest
from test_page_windows import SITE, generated_month
from test_visits_open import insert

from collector import config as config_mod
from collector import visits, visits_open
from collector.read import answer, card_lists, cellkey, query

CARDS = {
    "top pages": {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]},
    "entry pages": {"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"],
                    "dimensions": ["visit:entry_page"]},
    "exit pages": {"metrics": ["visitors", "visits", "views_per_visit"], "dimensions": ["visit:exit_page"]},
    "sources": {"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"], "dimensions": ["visit:source"]},
    "countries": {"metrics": ["visitors", "visits"], "dimensions": ["visit:country"]},
    "cities": {"metrics": ["visitors"], "dimensions": ["visit:city"]},
    "browsers": {"metrics": ["visitors", "pageviews"], "dimensions": ["visit:browser"]},
    "goals": {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]},
}


@pytest.fixture(scope="module")
def ready(session_store: Any) -> tuple[Any, config_mod.Config, dt.date, float]:
    """30 days of generated traffic as a running collector keeps it: closable days closed, their page windows
    written, the open days built and the card lists of the build written. (store, config, today, now)."""
    store = session_store
    config, now = generated_month(store)
    visits_open.update_open(store, now)
    written = card_lists.keep_ready(store, config, now)
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    assert {(a, b) for _, _, a, b in written} == {(today - dt.timedelta(days=n - 1), today) for n in card_lists.RANGES}
    assert card_lists.keep_ready(store, config, now) == []  # written once per build
    return store, config, today, now


Answer = tuple[list[dict[str, Any]], dict[str, Any]]


def both(store: Any, config: config_mod.Config, body: dict[str, Any], today: dt.date,
         admin: bool) -> tuple[Answer, Answer]:
    """(rows, meta) of `body` read with the card lists and merged without them."""
    q = query.parse({"site_id": SITE, **body}, today)
    ctx = answer.context(store, config, q, today, admin)
    return answer._rows(store, q, ctx), answer._rows(store, q, dataclasses.replace(ctx, lists=()))


def listed(meta: dict[str, Any]) -> bool:
    return any("card lists" in source for source in meta["sources"])


@pytest.mark.parametrize("admin", [False, True], ids=["reader", "admin"])
@pytest.mark.parametrize("date_range", ["7d", "30d"])
@pytest.mark.parametrize("card", CARDS)
def test_a_list_answers_what_the_merged_read_answers(ready, card: str, date_range: str, admin: bool) -> None:
    store, config, today, _ = ready
    body = {**CARDS[card], "date_range": date_range, "include": {"total_rows": True},
            "pagination": {"limit": 10, "offset": 2}}
    (rows, meta), (merged, merged_meta) = both(store, config, body, today, admin)
    assert listed(meta) and not listed(merged_meta), meta["sources"]
    assert any("(open days)" in s or s.startswith(("rollup:top_pages_daily", "rollup:events_daily"))
               for s in merged_meta["sources"])
    assert len(rows) >= (1 if card == "goals" else 3) and rows == merged
    assert {**meta, "sources": None} == {**merged_meta, "sources": None}
    if not admin and card.endswith("pages"):  # the reader's list folds small pages: the list holds their sketches
        assert meta["suppressed_rows"] > 0


def test_filters_other_ranges_and_other_columns_are_read_merged(ready) -> None:
    store, config, today, _ = ready
    for body in ({**CARDS["exit pages"], "date_range": "30d", "filters": [["contains", "visit:exit_page", ["blog"]]]},
                 {**CARDS["top pages"], "date_range": [(today - dt.timedelta(days=29)).isoformat(),
                                                       (today - dt.timedelta(days=1)).isoformat()]},
                 {**CARDS["top pages"], "date_range": [(today - dt.timedelta(days=20)).isoformat(), today.isoformat()]},
                 {"metrics": ["visitors"], "dimensions": ["time:day"], "date_range": "7d",
                  "filters": [["is", "event:page", ["/"]]]}):
        (rows, meta), (merged, _) = both(store, config, body, today, admin=False)
        assert rows == merged and not listed(meta), body


def test_only_whole_attempts_of_the_current_build_are_read(ready) -> None:
    store, config, today, now = ready
    body = {**CARDS["top pages"], "date_range": "7d"}
    (rows, meta), _ = both(store, config, body, today, admin=True)
    mark = visits_open.watermark(store, SITE)
    # An attempt that crashed before its complete row: a page with a huge count nobody may read.
    store.command("INSERT INTO analytics.card_lists (site, round, date_from, date_to, dimension, attempt, value, "
                  f"uniques) VALUES ('{SITE}', {mark.built_ms}, '{today - dt.timedelta(days=6)}', '{today}', "
                  f"'event:page', {time.time_ns() // 1000}, '/crashed', 999999)")
    assert both(store, config, body, today, admin=True)[0] == (rows, meta)
    # New rows and a round: a new build, whose lists do not exist yet; reads merge it meanwhile.
    store.command("INSERT INTO analytics.events (site, ts, type, path, visitor_id, tier, retention_days, "
                  f"rollup_retention_days) SELECT '{SITE}', toStartOfDay(now()) + number, 'pageview', '/fresh', "
                  "5000000000 + number, 'full', 30, 400 FROM numbers(300)")
    second = visits_open.update_open(store, now + 1)
    assert second["built_ms"] > mark.built_ms
    (fresh, fresh_meta), (merged, _) = both(store, config, body, today, admin=True)
    assert not listed(fresh_meta) and fresh == merged
    assert card_lists.keep_ready(store, config, now + 1)
    (again, again_meta), _ = both(store, config, body, today, admin=True)
    assert listed(again_meta) and again == fresh and again != rows
    assert any(r["d0"] == "/fresh" for r in again)  # the new rows are in


def test_a_large_row_the_fold_takes_is_read_with_its_sketch(store) -> None:
    # Two pages of one visitor each hold fewer than k = 5 together, so the next page up (20 visitors) folds into
    # (other) with them (complementary suppression): its sketch must be read although it is far above k.
    site, now = "s", time.time()
    config = config_mod.parse({"sites": {site: {"domains": ["s.example"], "small_cell_threshold": 5}}})
    cellkey.ensure_keys(store, config, now)
    base = int(now) - 3600
    visitors = [("/a", 1), ("/b", 1), ("/c", 20), ("/d", 30)]
    events, vid = [], 0
    for path, count in visitors:
        for _ in range(count):
            vid += 1
            events.append((vid, base + vid, "pageview", path, "full", "", "DE", 400))
    insert(store, events + [(999, int(now) - 10 * 86400, "pageview", "/old", "full", "", "DE", 400)], site)
    visits.close_due(store, now)  # the site's days before the open ones are closed: its lists can be written
    visits_open.update_open(store, now)
    assert card_lists.keep_ready(store, config, now)
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    q = query.parse({"site_id": site, "metrics": ["visitors"], "dimensions": ["event:page"], "date_range": "7d"},
                    today)
    ctx = answer.context(store, config, q, today, admin=False)
    (rows, meta), (merged, _) = answer._rows(store, q, ctx), answer._rows(store, q, dataclasses.replace(ctx, lists=()))
    assert listed(meta) and rows == merged
    other = next(r for r in rows if r["is_other"])
    assert other["folded"] == 3 and other["exact_visitors"] == 22  # /a, /b and /c, sketches merged
    assert [r["d0"] for r in rows if not r["is_other"]] == ["/d"]
