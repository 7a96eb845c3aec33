"""Nothing is set aside while the store is healthy but busy; a segment whose rows the store refuses is, and
`collector spool replay` brings it back once the cause is fixed.

Both refusals are the engine's own, on the real store: TOO_MANY_PARTS from the raw table's
`parts_to_throw_insert` set to 1 with merges stopped (SELECTs keep answering); a malformed block from a
column whose type a bad migration changed (consent_receipts.policy_version made UInt32: the site's
policy version "v1" no longer parses) and a later one restored."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from conftest import Api, event
from test_outage import wait_for
from test_refusals import too_many_parts

from collector import quarantine
from collector.refusals import BLOCK_REFUSALS
from collector.segments import SUFFIX
from collector.store import Store

PAGE = {"origin": "https://test.example"}
OLD_QUARANTINE_AFTER = 5  # failed inserts after which the writer used to set a segment aside


def gauge(api: Api, name: str = "collector_spool_quarantined_segments") -> float:
    line = next(line for line in api.client.get("/metrics").text.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def test_a_busy_store_sets_nothing_aside_and_stores_every_acknowledged_event_once(
        make_api: Callable[..., Api], store: Store) -> None:
    api = make_api(retry_max_ms=100, flush_interval_ms=1000)  # a few segments, not one per request
    assert api.send(event(url="https://test.example/busy/first")).status_code == 202
    assert api.count() == 1  # the raw table holds a part: with parts_to_throw_insert = 1 it refuses the next
    failures = lambda: api.collector.metrics.get("collector_insert_failures_total", error="TOO_MANY_PARTS")  # noqa: E731
    acked = ["/busy/first"]
    with too_many_parts(store):
        for i in range(40):
            paths = [f"/busy/{i}/{k}" for k in range(1 + i % 3)]
            r = api.send([event(url=f"https://test.example{p}") for p in paths])
            assert r.status_code == 202, r.text
            acked += paths
        # Refused for well past the old quarantine window, while the store answers reads.
        wait_for(lambda: failures() >= 3 * OLD_QUARANTINE_AFTER, timeout_s=60)
        assert store.query("SELECT count() FROM analytics.events") == [(1,)]
        assert api.collector.writer.depth > 0 and gauge(api) == 0
        assert not list((api.collector.settings.data_dir / "spool").rglob("quarantine/*" + SUFFIX))
    stored = dict(api.rows("SELECT path, count() FROM analytics.events WHERE path LIKE '/busy/%' GROUP BY path"))
    assert sorted(stored) == sorted(acked) and set(stored.values()) == {1}
    assert api.rows("SELECT sum(views) FROM analytics.pages_daily WHERE path LIKE '/busy/%'") == [(len(acked),)]
    assert api.collector.metrics.get("collector_spool_quarantined_rows_total") == 0


def test_a_busy_store_past_the_spool_cap_answers_503_and_sets_nothing_aside(
        make_api: Callable[..., Api], store: Store) -> None:
    """The spool grows within its cap while the store is busy; past it ingest answers 503 with Retry-After
    (never a 202 it could not keep); what was acknowledged is stored once when the store takes inserts."""
    api = make_api(retry_max_ms=100, spool_max_bytes=32 * 1024, flush_interval_ms=1000)
    assert api.send(event(url="https://test.example/busy/first")).status_code == 202
    assert api.count() == 1
    acked, refused = ["/busy/first"], 0
    with too_many_parts(store):
        for i in range(150):
            r = api.send(event(url=f"https://test.example/busy/{i}"))
            if r.status_code == 202:
                acked.append(f"/busy/{i}")
            else:
                assert r.status_code == 503 and int(r.headers["retry-after"]) > 0, r.text
                refused += 1
        assert refused > 0 and len(acked) > 1
        assert 0 < gauge(api, "collector_spool_bytes") <= 32 * 1024 and gauge(api) == 0
    stored = dict(api.rows("SELECT path, count() FROM analytics.events WHERE path LIKE '/busy/%' GROUP BY path"))
    assert sorted(stored) == sorted(acked) and set(stored.values()) == {1}
    assert gauge(api) == 0 and api.collector.metrics.get("collector_spool_quarantined_rows_total") == 0


@contextmanager
def policy_version_as_number(store: Store) -> Iterator[Callable[[], None]]:
    """A bad migration: consent_receipts.policy_version becomes UInt32; the yielded function is the fix."""
    fixed = False

    def fix() -> None:
        nonlocal fixed
        store.command("ALTER TABLE analytics.consent_receipts MODIFY COLUMN policy_version LowCardinality(String)")
        fixed = True

    store.command("ALTER TABLE analytics.consent_receipts MODIFY COLUMN policy_version UInt32")
    try:
        yield fix
    finally:
        if not fixed:
            fix()


def send_grant_and_pageview(api: Api) -> None:
    grant = event(type="consent", action="grant", categories=["analytics"], consent={"analytics": True},
                  vid="visitor-quarantine-0001")
    r = api.send([event(url="https://test.example/quarantined"), grant], headers=PAGE)
    assert r.status_code == 202 and r.json()["accepted"] == 2, r.text


def test_a_malformed_block_is_quarantined_and_replayed_once_the_cause_is_fixed(
        make_api: Callable[..., Api], store: Store) -> None:
    api = make_api(retry_max_ms=50)
    spool_root = api.collector.settings.data_dir / "spool"
    with policy_version_as_number(store) as fix:
        send_grant_and_pageview(api)
        assert api.send(event(url="https://test.example/behind")).status_code == 202
        wait_for(lambda: gauge(api) == 1, timeout_s=60)
        assert api.count(where="path = '/behind'") == 1  # the segment set aside no longer blocks the next
        assert api.collector.metrics.get("collector_insert_failures_total",
                                         error="CANNOT_PARSE_INPUT_ASSERTION_FAILED") == BLOCK_REFUSALS
        (segment,) = quarantine.segments(spool_root)
        # The raw table took its block before the receipts were refused: the replay must not insert it again.
        assert orjson.loads(segment.with_suffix(".stored").read_bytes()) == ["analytics.events"]
        assert api.count(where="path = '/quarantined'") == 1 and api.count("consent_receipts") == 0
        fix()
    planned = quarantine.replay(store, [segment], dry_run=True, drop_retention=lambda site: 400)
    assert [(o.result, o.rows, o.tokens) for o in planned] == [
        ("would insert", {"consent_receipts": 1}, [f"{segment.stem}-analytics.consent_receipts"])]
    assert api.count("consent_receipts") == 0 and segment.exists()  # a dry run inserts nothing
    done = quarantine.replay(store, quarantine.segments(spool_root), dry_run=False, drop_retention=lambda s: 400)
    assert [o.result for o in done] == ["stored"]
    assert api.rows("SELECT action, policy_version FROM analytics.consent_receipts") == [("grant", "v1")]
    assert api.count(where="path = '/quarantined'") == 1  # stored once, not again by the replay
    assert quarantine.segments(spool_root) == [] and not list((spool_root / "quarantine").iterdir())
    assert gauge(api) == 0


def test_replay_keeps_a_segment_the_store_still_refuses(make_api: Callable[..., Api], store: Store) -> None:
    api = make_api(retry_max_ms=50)
    spool_root = api.collector.settings.data_dir / "spool"
    with policy_version_as_number(store):
        send_grant_and_pageview(api)
        wait_for(lambda: gauge(api) == 1, timeout_s=60)
        again = quarantine.replay(store, quarantine.segments(spool_root), dry_run=False, drop_retention=lambda s: 400)
        assert [o.result for o in again] == ["refused: CANNOT_PARSE_INPUT_ASSERTION_FAILED"]
        assert len(quarantine.segments(spool_root)) == 1 and api.count("consent_receipts") == 0


def test_the_cli_lists_and_replays_a_data_dirs_quarantine(make_api: Callable[..., Api], store: Store,
                                                         tmp_path: Path) -> None:
    """`collector spool replay --dry-run` and `collector spool replay`, as an operator runs them: in a
    process of their own on a data dir whose server is stopped (the embedded store is one process's)."""
    api = make_api(retry_max_ms=50)
    with policy_version_as_number(store):
        send_grant_and_pageview(api)
        wait_for(lambda: gauge(api) == 1, timeout_s=60)
    data = tmp_path / "stopped"
    quarantined = api.collector.settings.data_dir / "spool" / "quarantine"
    (data / "spool" / "worker-1").mkdir(parents=True)  # a worker's spool: replayed too
    quarantined.rename(data / "spool" / "worker-1" / "quarantine")
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(data), "COLLECTOR_CONFIG": str(api.collector.settings.config_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "collector", *args], env=env, capture_output=True, text=True,
                              timeout=180)

    listed = cli("spool", "replay", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    (planned,) = orjson.loads(listed.stdout)["segments"]
    assert planned["result"] == "would insert" and planned["stored_before"] == ["analytics.events"]
    assert not (data / "clickhouse").exists()  # a dry run does not even open the store
    replayed = cli("spool", "replay")
    assert replayed.returncode == 0, replayed.stderr
    assert [s["result"] for s in orjson.loads(replayed.stdout)["segments"]] == ["stored"]
    counted = cli("sql", "SELECT count() FROM analytics.consent_receipts")
    assert counted.stdout.split() == ["count()", "1"], counted.stderr
    assert not list((data / "spool").rglob("*" + SUFFIX))
