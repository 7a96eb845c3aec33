# ruff: noqa: E501  (figure descriptions read better unwrapped)
"""Stats API and visits figures, on their own embedded store in a child process:
`python -m bench.stats <rows>` prints one `BENCH {json}` line.

- p50 of each dashboard query through the stats API's code (parse, build, run, suppress; no HTTP) on
  generated events over 30 days: with the last two days open, first before any round of the closer (their
  visits sessionised from raw events), then after its rounds (the open days from the round's build, card lists
  from the round's lists); then with every day closed (all from rollups), printed side by side.
- The closer's round at this traffic: the first one (every open day's raw rows), and a steady one after two
  minutes of traffic (what the visits thread spends every minute), each with its card lists.
- The sessioniser: seconds to close the 30 days, and the longest single day (the store lock is held that
  long, so it is the longest the writer waits).
- The cost of the cell-key noise on a reader's answers: each dashboard query's p50 as a reader (k = 5: noise
  and suppression) over its p50 as the admin (k = 0: the same SQL without the noise), alternated in one run.
- The insert path (writer blocks of 50,000 rows, JSONCompactEachRow) with and without what this work added
  to every insert (the heatmap rollup's view): the ingest cost of visits and heatmaps, as a ratio.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collector import config as config_mod
from collector import page_windows, visits, visits_open
from collector.read import answer, card_lists, cellkey, query
from collector.settings import Settings
from collector.store import Store, migrate, open_store

from . import generate
from . import store as bench_store
from .servers import PYTHON, ROOT
from .table import Row

RUNS = 7
SITE = "bench.example"
BLOCK_ROWS = 50_000
QUERIES: dict[str, dict[str, Any]] = {
    "top numbers + previous period": {"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"],
                                      "include": {"comparison": "previous_period"}},
    "visitors per day": {"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["time:day"]},
    "top pages": {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"], "pagination": {"limit": 10}},
    "entry pages": {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:entry_page"], "pagination": {"limit": 10}},
    "sources": {"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"], "dimensions": ["visit:source"], "pagination": {"limit": 10}},
    "countries": {"metrics": ["visitors", "visits"], "dimensions": ["visit:country"], "pagination": {"limit": 10}},
    "browsers": {"metrics": ["visitors", "visits"], "dimensions": ["visit:browser"], "pagination": {"limit": 10}},
    "goals": {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]},
}


def _p50_ms(store: Store, config: config_mod.Config, body: dict[str, Any], today: dt.date) -> tuple[float, list[str]]:
    q = query.parse({"site_id": SITE, "date_range": "30d", **body}, today)
    result = answer.run(store, config, q, today, admin=False)  # warm-up, and the sources for the table
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        answer.run(store, config, q, today, admin=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result["meta"]["sources"]


def _queries(store: Store, config: config_mod.Config, today: dt.date) -> dict[str, Any]:
    out = {}
    for name, body in QUERIES.items():
        ms, sources = _p50_ms(store, config, body, today)
        out[name] = {"p50_ms": ms, "sources": sources}
    return out


def _perturbation(store: Store, config: config_mod.Config, today: dt.date) -> dict[str, Any]:
    """p50 ms of each query as a reader and as the admin, measured alternately; their ratio."""
    out = {}
    for name, body in QUERIES.items():
        q = query.parse({"site_id": SITE, "date_range": "30d", **body}, today)
        times: dict[bool, list[float]] = {False: [], True: []}
        for admin in (False, True):  # warm-up
            answer.run(store, config, q, today, admin=admin)
        for _ in range(RUNS):
            for admin in (False, True):
                start = time.perf_counter()
                answer.run(store, config, q, today, admin=admin)
                times[admin].append(time.perf_counter() - start)
        reader, exact = statistics.median(times[False]) * 1000, statistics.median(times[True]) * 1000
        out[name] = {"reader_p50_ms": reader, "admin_p50_ms": exact, "ratio": reader / exact}
    ratios = [v["ratio"] for v in out.values()]
    return {"queries": out, "median_ratio": statistics.median(ratios), "max_ratio": max(ratios)}


def _insert_s(store: Store, blocks: list[bytes], columns: list[str]) -> float:
    start = time.perf_counter()
    for i, block in enumerate(blocks):
        store.insert_rows("analytics.events", columns, block, f"bench-{time.monotonic_ns()}-{i}")
    return time.perf_counter() - start


def _ingest(store: Store, rows: int) -> dict[str, Any]:
    """Writer-path insert seconds with and without the heatmap view (the only per-insert work added)."""
    sql = f"SELECT * FROM ({generate.events_select(rows, 50_000_000)}) FORMAT JSONCompactEachRow"
    with store.lock:
        text = store.client.raw_query(sql)
    columns = [r[0] for r in store.query("SELECT name FROM system.columns WHERE database = 'analytics' "
                                         "AND table = 'events' AND name != 'inserted' ORDER BY position")]
    lines = text.splitlines(keepends=True)
    blocks = [b"".join(lines[i:i + BLOCK_ROWS]) for i in range(0, len(lines), BLOCK_ROWS)]
    before, after = [], []
    for _ in range(3):  # alternate, so drift on a shared machine hits both sides
        store.command("DETACH TABLE analytics.heatmap_daily_mv")
        before.append(_insert_s(store, blocks, columns))
        store.command("ATTACH TABLE analytics.heatmap_daily_mv")
        after.append(_insert_s(store, blocks, columns))
    b, a = statistics.median(before), statistics.median(after)
    return {"rows": len(lines), "before_us_per_event": b / len(lines) * 1e6, "after_us_per_event": a / len(lines) * 1e6,
            "ratio": a / b}


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """(what `fn(*args)` returns, the seconds it took)."""
    t0 = time.perf_counter()
    return fn(*args), time.perf_counter() - t0


def _close(store: Store, now: float) -> tuple[float, float, int]:
    """Close every closable day one by one: (total seconds, longest day's seconds, days)."""
    until = visits.last_closable_day(now, 24 * 3600)
    first = store.query("SELECT min(toDate(ts)) FROM analytics.events")[0][0]
    times = []
    day = first
    while day <= until:
        t0 = time.perf_counter()
        visits.close_day(store, SITE, day)
        times.append(time.perf_counter() - t0)
        day += dt.timedelta(days=1)
    return sum(times), max(times, default=0.0), len(times)


ROLLUPS = ("events", "site_daily", "top_pages_daily", "events_daily", "tiers_daily", "visits_daily",
           "visit_sources_daily", "visit_pages_daily", "visit_geo_daily", "visit_technology_daily")


def run(rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
        store = open_store(Settings(data_dir=Path(tmp)))
        migrate(store)
        fill_s = bench_store._fill(store, rows)
        config = config_mod.parse({"sites": {SITE: {"domains": [SITE]}}})
        now = time.time()
        cellkey.ensure_keys(store, config, now)  # as the collector does at start
        today = dt.datetime.fromtimestamp(now, dt.UTC).date()
        close_s, longest_s, days = _close(store, now)  # the last two days stay open
        _, windows_s = _timed(page_windows.keep_current, store)  # as the closer does once the days are closed
        for table in ROLLUPS:  # a month-old store has merged its parts: compare steady states
            store.command(f"OPTIMIZE TABLE analytics.{table} FINAL")
        open_days_raw = _queries(store, config, today)  # before any visits_open round: open days from raw events
        first_round, first_round_s = _timed(visits_open.update_open, store, now)
        _, first_lists_s = _timed(card_lists.keep_ready, store, config, now)
        # Two minutes of traffic, then a round as the closer runs one every minute: its cost at this traffic.
        tail = max(1, rows // (30 * 24 * 30))
        store.command(f"{generate.INSERT} {generate.events_select(tail, 70_000_000)}")
        steady, steady_round_s = _timed(visits_open.update_open, store, now)
        _, steady_lists_s = _timed(card_lists.keep_ready, store, config, now)
        open_days = _queries(store, config, today)  # the open days from the round's build and card lists
        visits.close_due(store, now + 3 * 86400)
        for table in ROLLUPS:
            store.command(f"OPTIMIZE TABLE analytics.{table} FINAL")
        all_closed = _queries(store, config, today)
        perturbation = _perturbation(store, config, today)
        ingest = _ingest(store, 200_000)
        store.close()
    return {"rows": rows, "fill_s": fill_s, "close_s": close_s, "closed_days": days, "longest_day_s": longest_s,
            "windows_s": windows_s,
            "first_round_s": first_round_s, "first_round_rows": first_round["rows"], "first_lists_s": first_lists_s,
            "tail_rows": tail, "steady_round_s": steady_round_s, "steady_round_rows": steady["rows"],
            "steady_lists_s": steady_lists_s,
            "open_days_raw": open_days_raw, "open_days": open_days, "all_closed": all_closed,
            "perturbation": perturbation, "ingest": ingest}


def stats_rows(rows: int = 10_000_000) -> tuple[list[Row], dict[str, Any]]:
    out_text = subprocess.run([PYTHON, "-m", "bench.stats", str(rows)], cwd=ROOT, capture_output=True, text=True,
                              timeout=3600, check=True).stdout
    r = json.loads(next(line for line in out_text.splitlines() if line.startswith("BENCH "))[len("BENCH "):])
    out = []
    for name, figure in r["open_days"].items():
        ms, closed, raw = figure["p50_ms"], r["all_closed"][name]["p50_ms"], r["open_days_raw"][name]["p50_ms"]
        out.append(Row(f"Stats API: {name}, 30 days ({r['rows'] / 1e6:.0f}M events)", f"{ms:.1f} ms / {closed:.1f} ms",
                       f"p50 of {RUNS}, today and yesterday open (from visits_open) / every day closed; open days "
                       f"sessionised from raw rows: {raw:.1f} ms; read user (suppressed); target <= 50 ms for both",
                       max(ms, closed) <= 50))
    out.append(Row(f"Visits: sessionise {r['closed_days']} closed days", f"{r['close_s']:.1f} s",
                   f"{r['close_s'] / r['rows'] * 1e6:.2f} us/event, once per day; longest day {r['longest_day_s']:.2f} s (store lock held); "
                   f"then the page windows of the newest closed day {r['windows_s']:.2f} s"))
    out.append(Row("Closer round (open days built, card lists written), every minute", f"{r['steady_round_s'] + r['steady_lists_s']:.2f} s",
                   f"after two minutes of traffic ({r['steady_round_rows']:,} raw rows): build {r['steady_round_s']:.2f} s, "
                   f"lists {r['steady_lists_s']:.2f} s; the first round ({r['first_round_rows']:,} raw rows) "
                   f"{r['first_round_s']:.1f} s + lists {r['first_lists_s']:.2f} s"))
    ing = r["ingest"]
    out.append(Row("Insert path with the heatmap rollup view / without", f"{ing['ratio']:.2f}x",
                   f"{ing['after_us_per_event']:.2f} vs {ing['before_us_per_event']:.2f} us/event, writer blocks of {BLOCK_ROWS:,}; "
                   "visits add nothing per event; target <= 1.10x", ing["ratio"] <= 1.10))
    return out, r


if __name__ == "__main__":
    print("BENCH " + json.dumps(run(int(sys.argv[1])), default=str))
