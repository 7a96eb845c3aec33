"""The open days in rollup shapes (collector/open_rollups.py): a round's build holds exactly the rows each visit
rollup gets when the day closes; the stats API reads it for the open days and answers as the per-visitor
read of visits_open does; a build the round did not record is never read; a round without new rows keeps the
build; superseded builds go once their grace has passed."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from test_visits import DAY1
from test_visits_open import DAY2, NOW, insert, random_events

from collector import config as config_mod
from collector import open_rollups, visits, visits_open
from collector.read import answer, query

SITE = "s"
# rollup table (and its where) -> the build's kind and the columns both group by
SHAPES = {("visits_daily", ""): ("visits", ()),
          ("visit_sources_daily", ""): ("sources", open_rollups.KINDS["sources"]),
          ("visit_geo_daily", ""): ("geo", open_rollups.KINDS["geo"]),
          ("visit_technology_daily", ""): ("technology", open_rollups.KINDS["technology"]),
          ("visit_pages_daily", "kind = 'entry'"): ("entry", ("page",)),
          ("visit_pages_daily", "kind = 'exit'"): ("exit", ("page",))}
QUERIES = [
    {"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]},
    {"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["time:day"]},
    {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:entry_page"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"]},
    {"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"], "dimensions": ["visit:source"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:country"],
     "filters": [["is", "visit:source", ["x.org"]]]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:browser"]},
]


def _aggregated(store: Any, table: str, where: str, cols: tuple[str, ...], extra: str = "") -> set[tuple[Any, ...]]:
    keys = ", ".join(cols) or "tuple()"
    sql = (f"SELECT {''.join(c + ', ' for c in cols)}sum(visit_count), sum(bounces), sum(pageviews), sum(events), "
           f"sum(duration_s), uniqCombined64Merge(12)(visitors) FROM analytics.{table} WHERE site = {{s:String}} "
           f"AND day = {{d:Date}}{' AND ' + where if where else ''}{extra} GROUP BY {keys}")
    return set(store.query(sql, {"s": SITE, "d": DAY1.date()}))


def _events(seed: int) -> list[Any]:
    return random_events(random.Random(seed), 1500)


def _rounds(store: Any, events: list[Any]) -> None:
    """Batches in no time order, a round after each: later batches change visits earlier builds held."""
    for i in range(0, len(events), 500):
        insert(store, events[i:i + 500])
        visits_open.update_open(store, NOW, chunk_rows=200)


def test_a_build_holds_exactly_the_rows_the_day_closes_into(store) -> None:
    _rounds(store, _events(5))
    built = visits_open.watermark(store, SITE).built_ms
    assert built
    build = {shape: _aggregated(store, "visits_open_daily", f"kind = '{kind}'", cols, f" AND round = {built}")
             for shape, (kind, cols) in SHAPES.items()}
    visits.close_day(store, SITE, DAY1.date())
    for (table, where), (_, cols) in SHAPES.items():
        closed = _aggregated(store, table, where, cols)
        assert closed and build[(table, where)] == closed, table
    assert sum(r[-6] for r in build[("visits_daily", "")]) > 100  # visits


def _answers(store: Any, ctx_change: dict[str, Any]) -> list[tuple[list[Any], list[str]]]:
    config = config_mod.parse({"sites": {SITE: {"domains": ["s.example"]}}})
    out = []
    for body in QUERIES:
        q = query.parse({"site_id": SITE, "date_range": [DAY1.date().isoformat(), DAY2.date().isoformat()], **body},
                        DAY2.date())
        ctx = dataclasses.replace(answer.context(store, config, q, DAY2.date(), admin=True), **ctx_change)
        rows, meta = answer._rows(store, q, ctx)
        out.append(([(row.get("d0"), [row[m] for m in q.metrics]) for row in rows],
                    meta["sources"]))
    return out


def test_the_stats_api_reads_the_build_and_answers_as_the_per_visitor_read(store) -> None:
    _rounds(store, _events(7))
    built, per_visitor = _answers(store, {}), _answers(store, {"built_ms": 0})
    for (rows, sources), (expected, old_sources), body in zip(built, per_visitor, QUERIES, strict=True):
        assert rows == expected and rows, body
        assert old_sources == [f"raw:open visits {DAY1.date()}..{DAY2.date()}"]
        filtered = "filters" in body  # no rollup holds a country per source: the per-visitor read answers it
        assert all("(open days)" in s for s in sources) != filtered, (body, sources)


def test_a_build_no_round_recorded_is_never_read(store) -> None:
    _rounds(store, _events(9))
    before = _answers(store, {})
    mark = visits_open.watermark(store, SITE)
    # A round that crashed after its build, before recording it: its rows (here: the build doubled) are there.
    open_rollups.build(store, mark.watermark_ms + 1, mark.open_from)
    open_rollups.build(store, mark.watermark_ms + 1, mark.open_from)
    assert _answers(store, {}) == before
    assert visits_open.watermark(store, SITE).built_ms == mark.built_ms


def test_a_round_without_new_rows_keeps_the_build_and_superseded_builds_go_after_their_grace(store) -> None:
    _rounds(store, _events(3))
    first = visits_open.watermark(store, SITE)
    assert visits_open.update_open(store, NOW)["built_ms"] == first.built_ms  # nothing stored since
    insert(store, _events(4)[:50])
    second = visits_open.update_open(store, NOW)["built_ms"]
    assert second > first.built_ms

    def rounds() -> list[int]:
        return sorted(r[0] for r in store.query("SELECT DISTINCT round FROM analytics.visits_open_daily"))

    assert rounds()[-2:] == [first.built_ms, second]  # superseded, but within its grace: still readable
    assert open_rollups.drop_superseded(store, second) == []
    dropped = open_rollups.drop_superseded(store, second + open_rollups.GRACE_MS)
    assert first.built_ms in dropped and rounds() == [second]


@pytest.mark.parametrize("late", [False, True])
def test_the_build_follows_a_late_event_that_changes_a_visit_it_held(store, late: bool) -> None:
    # One visitor, two visits on day 1; a late event between them joins them into one (or not).
    base = int(DAY1.timestamp()) + 10 * 3600
    insert(store, [(1, base, "pageview", "/a", "full", "", "DE", 30),
                   (1, base + 3000, "pageview", "/b", "full", "", "DE", 30)])
    visits_open.update_open(store, NOW)
    assert _aggregated(store, "visits_open_daily", "kind = 'visits'", (),
                       f" AND round = {visits_open.watermark(store, SITE).built_ms}") == {(2, 2, 2, 2, 0, 1)}
    if late:
        insert(store, [(1, base + 1500, "click", "/a", "full", "", "DE", 30)])
    visits_open.update_open(store, NOW)
    expected = (1, 0, 2, 3, 3000, 1) if late else (2, 2, 2, 2, 0, 1)
    assert _aggregated(store, "visits_open_daily", "kind = 'visits'", (),
                       f" AND round = {visits_open.watermark(store, SITE).built_ms}") == {expected}
