"""The writer on the real store: spool segments in, rows out, and a replayed segment stored once,
in the raw table and in every rollup its views feed."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import FIREFOX, LONDON_IP, Api, event

from collector import pipeline
from collector import request as edge
from collector.event import Reason, RequestInfo
from collector.metrics import Metrics
from collector.refusals import BLOCK_REFUSALS
from collector.segments import SUFFIX, frame
from collector.spool import Spool
from collector.store import Store
from collector.writer import DROPS, Writer, blocks, encode, sum_drops


def pipeline_rows(api: Api, n: int, bots: int = 0) -> tuple[list[tuple[str, list[Any]]], Any]:
    c = api.collector
    now_ms = int(c.clock() * 1000)
    items = [event(url=f"https://test.example/w{i}", consent={"analytics": True}, vid=f"visitor-{i:08d}-abcdef")
             for i in range(n)]
    events = edge.build(items, c.validate, RequestInfo(peer=LONDON_IP, user_agent=FIREFOX), now_ms, (10**8, 10**8))
    rows, dropped = pipeline.run(events, c.ctx)
    dropped[("test.example", Reason.BOT)] += bots
    return rows, dropped


def make_spool(directory: Path) -> Spool:
    return Spool(directory, max_bytes=1 << 24, max_rows=100_000, seal_rows=10_000, seal_interval_s=60)


def run_writer(store: Store, directory: Path, fill: Callable[[Writer], None] | None = None) -> Writer:
    writer = Writer(store, Metrics(), make_spool(directory), drop_retention=lambda site: 400, retry_max_s=0.1)
    writer.start()
    if fill:
        fill(writer)
    assert writer.drain(timeout_s=30)
    writer.close()
    return writer


def totals(store: Store) -> tuple[int, ...]:
    return tuple(int(store.query(sql)[0][0]) for sql in (
        "SELECT count() FROM analytics.events",
        "SELECT sum(views) FROM analytics.pages_daily",
        "SELECT sum(views) FROM analytics.pages_hourly",
        "SELECT uniqCombined64Merge(visitors) FROM analytics.pages_daily",
        "SELECT sum(events) FROM analytics.dropped_daily",
    ))


def test_rows_reach_the_store_and_the_spool_empties(api: Api, store: Store, tmp_path: Path) -> None:
    rows, dropped = pipeline_rows(api, 5, bots=2)
    run_writer(store, tmp_path, lambda w: w.submit(rows, dropped.items()))
    assert totals(store) == (5, 5, 5, 5, 2)
    assert not list(tmp_path.glob("*" + SUFFIX))


def test_replayed_segment_is_stored_once_in_raw_table_and_rollups(api: Api, store: Store, tmp_path: Path) -> None:
    rows, dropped = pipeline_rows(api, 20, bots=3)
    first, crashed = tmp_path / "a", tmp_path / "b"
    spool = make_spool(first)
    payload, lines, _ = encode(rows, dropped.items(), "2026-01-01", lambda s: 400)
    spool.append(payload, lines).result(timeout=5)
    spool.close()
    shutil.copytree(first, crashed)  # what the disk held had the process died right after the insert
    run_writer(store, first)
    assert totals(store) == (20, 20, 20, 20, 3)
    replay = run_writer(store, crashed)  # start-up on the copy: same segment name, same tokens
    assert replay.depth == 0 and not list(crashed.glob("*" + SUFFIX))
    assert totals(store) == (20, 20, 20, 20, 3)


DETERMINISM = """
import sys
from collector.event import Reason
from collector.segments import frame
from collector.writer import blocks, encode
drops = [(("s", Reason.BOT), 2), (("t", Reason.CONSENT_DENIED), 1), (("", Reason.UNKNOWN_SITE), 4)]
if sys.argv[1] == "reversed":
    drops.reverse()
rows = [("analytics.events", [1, "x", {"b": "2", "a": "1"}]), ("analytics.consent_receipts", [2, "y"])]
data = frame(encode(rows, drops[:2], "2026-01-01", lambda s: 30)[0]) + frame(encode([], drops[2:], "2026-01-01",
                                                                                     lambda s: 30)[0])
sys.stdout.write(repr(sorted(blocks(data).items())))
"""


def test_blocks_are_the_same_in_another_process_and_drop_counts_summed() -> None:
    """A segment replayed after a restart must give the same blocks (their dedup tokens name them): the
    same input in fresh interpreters with other hash seeds and another drop order gives the same bytes."""
    def run(seed: str, order: str) -> str:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", DETERMINISM, order], env=env, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    runs = {run("1", "given"), run("2", "reversed"), run("3", "given")}
    assert len(runs) == 1
    tables = dict(ast.literal_eval(runs.pop()))
    assert tables[DROPS] == (b'["","2026-01-01","unknown_site",4,30]\n["s","2026-01-01","bot",2,30]\n'
                             b'["t","2026-01-01","consent_denied",1,30]')
    assert tables["analytics.events"] == b'[1,"x",{"b":"2","a":"1"}]'
    summed = encode([], [(("s", Reason.BOT), 2), (("s", Reason.BOT), 5)], "2026-01-01", lambda s: 30)[0]
    assert blocks(frame(summed) + frame(summed))[DROPS] == b'["s","2026-01-01","bot",14,30]'


def test_blocks_kept_in_memory_equal_the_blocks_a_replay_reads(api: Api, tmp_path: Path) -> None:
    """The writer inserts the blocks the spool kept in memory; a replay after a crash parses the
    segment file instead: both must be the same rows, table by table."""
    spool = make_spool(tmp_path)
    for n, bots in ((3, 1), (4, 0), (2, 2)):
        rows, dropped = pipeline_rows(api, n, bots=bots)
        payload, lines, parts = encode(rows, dropped.items(), "2026-01-01", lambda s: 400)
        spool.append(payload, lines, parts=parts).result(timeout=5)
    spool.seal()
    segment = spool.oldest(timeout_s=5)
    assert segment is not None and segment.blocks is not None
    assert sum_drops(segment.blocks) == blocks(segment.read())
    assert blocks(segment.read())["analytics.events"].count(b"\n") + 1 == 9
    spool.close()


def test_memory_durability_stores_without_a_spool_dir(make_api: Callable[..., Api]) -> None:
    api = make_api(durability="memory")
    assert api.send([event(), event()]).status_code == 202
    assert api.count() == 2
    assert not (api.collector.settings.data_dir / "spool").exists()


def test_durable_mode_spools_under_the_data_dir(make_api: Callable[..., Api]) -> None:
    api = make_api()
    assert api.send(event()).status_code == 202
    assert (api.collector.settings.data_dir / "spool").is_dir()
    assert api.count() == 1


def test_a_segment_the_store_refuses_for_its_rows_is_quarantined_not_blocking(
        api: Api, store: Store, tmp_path: Path) -> None:
    rows, _ = pipeline_rows(api, 3)
    bad = [("analytics.events", rows[0][1][:-1])]  # one column short: the engine refuses it every time
    spool_dir = tmp_path / "spool"
    spool = make_spool(spool_dir)
    for batch in (bad, rows):
        payload, lines, _ = encode(batch, [], "2026-01-01", lambda s: 400)
        spool.append(payload, lines).result(timeout=5)
        spool.seal()
    spool.close()
    metrics = Metrics()
    writer = Writer(store, metrics, make_spool(spool_dir), drop_retention=lambda s: 400, retry_max_s=0.05)
    writer.start()
    assert writer.drain(timeout_s=60)
    writer.close()
    assert totals(store)[0] == 3  # the good segment behind it was stored
    assert metrics.get("collector_spool_quarantined_rows_total") == 1
    rendered = metrics.render().splitlines()
    assert metrics.get("collector_flush_errors_total") == BLOCK_REFUSALS  # every refusal before the quarantine counted
    assert metrics.get("collector_insert_failures_total", error="CANNOT_PARSE_INPUT_ASSERTION_FAILED") == BLOCK_REFUSALS
    assert "# TYPE collector_flush_errors_total counter" in rendered
    assert f"collector_flush_errors_total {float(metrics.get('collector_flush_errors_total'))}" in rendered
    assert len(list((spool_dir / "quarantine").glob("*" + SUFFIX))) == 1
