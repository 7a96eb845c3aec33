"""Page windows (collector/page_windows.py): the standard ranges' page lists read from one sketch per page
equal, row for row and for the reader (suppressed, perturbed) and the admin, the same lists read from the day
rows; a window is used only when it is whole and ends on the newest closed day; writing it again, after a
crash half-way or twice, changes no answer, before and after the table merges its rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import pytest

from bench import generate
from collector import config as config_mod
from collector import page_windows, visits
from collector.read import answer, cellkey, query

SITE = "bench.example"
CARDS = {
    "top pages": {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]},
    "entry pages": {"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"],
                    "dimensions": ["visit:entry_page"]},
    "exit pages": {"metrics": ["visitors", "visits", "views_per_visit"], "dimensions": ["visit:exit_page"],
                   "filters": [["contains", "visit:exit_page", ["blog"]]]},
}


def generated_month(store: Any) -> tuple[config_mod.Config, float]:
    """An emptied store with 30 days of generated traffic for SITE, every closable day closed (and its page
    windows written): (config, the closer's clock)."""
    for (table,) in store.query("SELECT name FROM system.tables WHERE database = 'analytics' "
                                "AND engine LIKE '%MergeTree' AND total_rows > 0"):
        store.command(f"TRUNCATE TABLE analytics.{table}")
    store.command(f"{generate.INSERT} {generate.events_select(20_000)}")
    config = config_mod.parse({"sites": {SITE: {"domains": [SITE]}}})
    now = time.time()
    cellkey.ensure_keys(store, config, now)
    visits.close_due(store, now)
    return config, now


@pytest.fixture(scope="module")
def closed(session_store: Any) -> tuple[Any, config_mod.Config, dt.date]:
    """30 days of generated traffic, every closable day closed, filled once for the module: (store, config,
    the day a dashboard's "today" is when the newest closed day is the day before yesterday)."""
    store = session_store
    config, _ = generated_month(store)
    last = visits.closed_through(store, SITE)
    assert last is not None
    return store, config, last + dt.timedelta(days=2)


def both(store: Any, config: config_mod.Config, body: dict[str, Any], today: dt.date,
         admin: bool) -> tuple[tuple[dict[str, Any], dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]:
    """(rows, meta) of `body` read with the page windows and read from the day rows only."""
    q = query.parse({"site_id": SITE, **body}, today)
    ctx = answer.context(store, config, q, today, admin)
    return answer._rows(store, q, ctx), answer._rows(store, q, dataclasses.replace(ctx, windows=frozenset()))


@pytest.mark.parametrize("admin", [False, True], ids=["reader", "admin"])
@pytest.mark.parametrize("date_range", ["7d", "30d"])
@pytest.mark.parametrize("card", CARDS)
def test_a_window_answers_what_the_day_rows_answer(closed, card: str, date_range: str, admin: bool) -> None:
    store, config, today = closed
    body = {**CARDS[card], "date_range": date_range, "include": {"total_rows": True}}
    (rows, meta), (day_rows, day_meta) = both(store, config, body, today, admin)
    assert any("windows" in source for source in meta["sources"]), meta["sources"]
    assert not any("windows" in source for source in day_meta["sources"])
    assert len(rows) > 3 and rows == day_rows
    assert {**meta, "sources": None} == {**day_meta, "sources": None}
    if not admin:  # the reader's list folds small pages: the window holds them as the day rows do
        assert meta["suppressed_rows"] > 0


def test_other_ranges_and_time_series_read_the_day_rows(closed) -> None:
    store, config, today = closed
    # (Not "month": on the 7th it is "7d", whose closed days a window holds.)
    for body in ({**CARDS["top pages"], "date_range": [(today - dt.timedelta(days=12)).isoformat(), today.isoformat()]},
                 {**CARDS["top pages"], "date_range": [(today - dt.timedelta(days=20)).isoformat(), today.isoformat()]},
                 {"metrics": ["visitors"], "dimensions": ["time:day"], "date_range": "30d",
                  "filters": [["is", "event:page", ["/"]]]}):
        (rows, meta), (day_rows, _) = both(store, config, body, today, admin=False)
        assert rows == day_rows and not any("windows" in s for s in meta["sources"]), body


def test_a_window_without_its_complete_row_is_not_read_and_a_rewrite_adds_nothing(closed) -> None:
    store, config, today = closed
    last = today - dt.timedelta(days=2)
    # A range whose closed days make a window no closer writes (9 days), so this test writes it itself.
    body = {**CARDS["entry pages"], "date_range": [(last - dt.timedelta(days=8)).isoformat(), today.isoformat()]}
    (before, meta), _ = both(store, config, body, today, admin=True)
    assert not any("windows" in s for s in meta["sources"])
    page_windows.write(store, SITE, last, 9, parts=("page", "visits"))  # a crash before the complete row
    (rows, meta), _ = both(store, config, body, today, admin=True)
    assert rows == before and not any("windows" in s for s in meta["sources"])
    for _ in range(2):  # the next round writes it all again, then a repeat; duplicates change nothing, merged or not
        page_windows.write(store, SITE, last, 9)
        (rows, meta), _ = both(store, config, body, today, admin=True)
        assert rows == before and any("windows" in s for s in meta["sources"])
        store.command("OPTIMIZE TABLE analytics.page_windows FINAL")
        assert both(store, config, body, today, admin=True)[0][0] == before
    assert page_windows.keep_current(store) == []  # the standard windows were written when the days closed
