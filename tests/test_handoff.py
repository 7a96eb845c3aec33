"""The hand-off between an embedded worker and the store owner, over a real Unix socket: a block stored once
however often it is sent, reads answered from the owner's store, erasures queued, strangers refused."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from conftest import Clock
from test_refusals import too_many_parts
from test_workers import pipeline_rows

from collector.app import create_app
from collector.handoff import HandoffError, OwnerApp, OwnerLink
from collector.metrics import Metrics
from collector.process import OWNER, Process
from collector.receipts import Erasure
from collector.refusals import BLOCK_REFUSALS, BlockRefused, block_code
from collector.row import COLUMNS
from collector.settings import Settings
from collector.spool import Spool
from collector.store import Store
from collector.writer import Writer, encode

TOKEN = "t" * 32


@pytest.fixture
def owner(store: Store, settings: Settings, clock: Clock) -> Iterator[Path]:
    run_dir = Path(tempfile.mkdtemp(prefix="owner-"))  # short: a socket path has a length limit
    process = Process(OWNER, 0, 1, run_dir, TOKEN)
    app = create_app(settings, clock=clock, store=store, process=process)
    server = uvicorn.Server(uvicorn.Config(OwnerApp(app, TOKEN), uds=str(process.owner_socket), log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (server.started and app.state.collector.ready):
        assert time.monotonic() < deadline and thread.is_alive(), "the owner did not start"
        time.sleep(0.01)
    yield process.owner_socket
    server.should_exit = True
    thread.join(30)


def test_a_block_sent_twice_with_one_token_is_stored_once(owner: Path, make_api, store: Store) -> None:
    """A worker killed after the owner stored its block sends it again on restart: the token drops it."""
    rows = [("analytics.events", row) for row in pipeline_rows(make_api(), 3, "/handoff/")]
    _, _, parts = encode(rows, (), "2026-01-01", lambda site: 400)
    link = OwnerLink(owner, TOKEN)
    for _ in range(2):
        link.insert_rows("analytics.events", COLUMNS, parts["analytics.events"], "0000000000000007-abc-events")
    assert link.query("SELECT count() FROM analytics.events WHERE path LIKE {p:String}", {"p": "/handoff/%"}) == [(3,)]
    assert store.query("SELECT count() FROM analytics.events") == [(3,)]


def test_strangers_are_refused(owner: Path) -> None:
    with pytest.raises(HandoffError, match="404"):
        OwnerLink(owner, "wrong" * 8).query("SELECT 1")
    assert OwnerLink(owner, TOKEN).query("SELECT 1 + {x:UInt8}", {"x": 1}) == [(2,)]


def test_erasures_are_queued_with_the_owner(owner: Path) -> None:
    answer = OwnerLink(owner, TOKEN).erase(Erasure("test.example", 42, "receipt"))
    assert answer == {"deleted": "queued with the store owner"}


def test_the_owner_tells_a_worker_whose_fault_a_refused_block_is(owner: Path, make_api, store: Store) -> None:
    """422 with the ClickHouse code for a block the store cannot parse (the worker quarantines it), 503 while
    the store is busy (real TOO_MANY_PARTS: the worker keeps the segment and retries)."""
    link = OwnerLink(owner, TOKEN)
    with pytest.raises(BlockRefused) as refused:
        link.insert_rows("analytics.dropped_daily", (), b'["s","2026-01-01","bot",1]', "handoff-short")
    assert refused.value.code == 27 and block_code(refused.value) == 27
    rows = [("analytics.events", row) for row in pipeline_rows(make_api(), 2, "/busy/")]
    block = encode(rows, (), "2026-01-01", lambda site: 400)[2]["analytics.events"]
    first, second = f"handoff-{uuid.uuid4().hex}", f"handoff-{uuid.uuid4().hex}"
    link.insert_rows("analytics.events", COLUMNS, block.split(b"\n")[0], first)
    with too_many_parts(store), pytest.raises(HandoffError, match="503") as busy:
        link.insert_rows("analytics.events", COLUMNS, block.split(b"\n")[1], second)
    assert block_code(busy.value) is None
    link.insert_rows("analytics.events", COLUMNS, block.split(b"\n")[1], second)
    assert store.query("SELECT count() FROM analytics.events") == [(2,)]


def test_a_workers_writer_quarantines_what_the_owner_refuses_for_its_rows(owner: Path, make_api, store: Store,
                                                                          tmp_path: Path) -> None:
    """The worker's own spool sets aside a segment the owner answered 422 for, and stores the one behind it."""
    rows = [("analytics.events", row) for row in pipeline_rows(make_api(), 2, "/worker-quarantine/")]
    spool_dir = tmp_path / "worker-spool"
    spool = Spool(spool_dir, max_bytes=1 << 24, max_rows=10_000, seal_rows=10_000, seal_interval_s=60)
    for batch in ([("analytics.events", rows[0][1][:-1])], rows):  # one column short, then good rows
        spool.append(*encode(batch, [], "2026-01-01", lambda s: 400)[:2]).result(timeout=5)
        spool.seal()
    spool.close()
    metrics = Metrics()
    writer = Writer(OwnerLink(owner, TOKEN), metrics, Spool(spool_dir, max_bytes=1 << 24, max_rows=10_000,
                    seal_rows=10_000, seal_interval_s=60), drop_retention=lambda s: 400, retry_max_s=0.05)
    writer.start()
    assert writer.drain(timeout_s=60)
    writer.close()
    assert len(list((spool_dir / "quarantine").glob("*.seg"))) == 1
    assert metrics.get("collector_insert_failures_total", error="CANNOT_PARSE_INPUT_ASSERTION_FAILED") == BLOCK_REFUSALS
    assert store.query("SELECT count() FROM analytics.events WHERE path LIKE '/worker-quarantine/%'") == [(2,)]
