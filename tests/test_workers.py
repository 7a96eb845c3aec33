"""`collector serve --workers 2`, embedded, as a user runs it: one store owner and two workers on one
port. An anonymous visitor gets one id whichever worker took the request; /metrics sums the workers. Under
load (a new connection per request, so the kernel spreads them over both workers), one process is killed
per run — at a named crash point (collector/crashpoints.py) or by a plain SIGKILL of a worker or the owner —
and every acknowledged event is stored exactly once, with nothing left in a spool or its quarantine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from conftest import FIREFOX, free_port
from prometheus_client.parser import text_string_to_metric_families

from collector import crashpoints
from collector.process import WORKER, Process
from collector.state import open_spool
from collector.writer import encode

pytestmark = pytest.mark.timeout(600)
SITE = "demo.example"
LOAD_SECONDS = 3.0  # per phase: bounded in time, and in count by the senders' pace


@dataclass
class Supervisor:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    data: Path

    def pids(self) -> dict[str, int]:
        """The live pid of each role, from the supervisor's "process started" log lines."""
        found: dict[str, int] = {}
        for line in self.log.read_text().splitlines():
            if line.startswith("{") and '"process started"' in line:
                entry = json.loads(line)
                found[entry["role"]] = entry["pid"]
        return found

    def ready(self, role: str, pid: int) -> bool:
        """Whether the process `pid` of `role` has logged "collector ready" (after its "process started")."""
        started = False
        for line in self.log.read_text().splitlines():
            if not line.startswith("{") or ('"process started"' not in line and '"collector ready"' not in line):
                continue
            entry = json.loads(line)
            if entry.get("role") != role:
                continue
            if entry["msg"] == "process started":
                started = entry["pid"] == pid
            elif started:
                return True
        return False

    def wait_restarted(self, role: str, old_pid: int) -> int:
        """The new pid of `role`, once it is ready again. A process stopped while still starting keeps its
        spool for the next start: stopping before it is ready would leave acknowledged rows outside the
        store when the test reads it."""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            pid = self.pids().get(role, old_pid)
            if pid != old_pid and self.ready(role, pid):
                return pid
            time.sleep(0.05)
        raise AssertionError(f"{role} was not started again: {self.log.read_text()[-3000:]}")


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLECTOR_", "CLICKHOUSE_"))}
    return env | {"COLLECTOR_DATA_DIR": str(data), "COLLECTOR_FLUSH_INTERVAL_MS": "1000",
                  "COLLECTOR_RETRY_MAX_MS": "200", "COLLECTOR_SHUTDOWN_DRAIN_MS": "0"}


@contextmanager
def supervisor(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[Supervisor]:
    port, log, data = free_port(), tmp_path / "serve.log", tmp_path / "data"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", str(port), "--workers", "2"],
                                env=_env(data) | (extra_env or {}), stdout=out, stderr=subprocess.STDOUT)
    running = Supervisor(proc, f"http://127.0.0.1:{port}", log, data)
    try:
        deadline = time.monotonic() + 120
        # Every process ready, not only the one that answered /readyz: both workers take traffic from the start.
        while len(running.pids()) < 3 or not _ready(running.url) or not all(
                running.ready(role, pid) for role, pid in running.pids().items()):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


DUP_ID = "6f1c2a52-9f0e-4b8e-8d1a-2b7f4c1e9a01"


def _event(path: str) -> dict[str, object]:
    return {"site": SITE, "type": "pageview", "url": f"https://{SITE}{path}", "consent": {}}


def _send(url: str, path: str, event_id: str = "") -> bool:
    """One event on a new connection (so the kernel picks the worker); True if acknowledged."""
    body = {**_event(path), **({"event_id": event_id} if event_id else {})}
    try:
        answer = httpx.post(f"{url}/api/event", json=body, headers={"User-Agent": FIREFOX}, timeout=10)
    except httpx.HTTPError:
        return False
    return answer.status_code == 202 and answer.json()["accepted"] == 1


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """A stopped worker accepts nothing: every new connection goes to the other one."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@dataclass
class Load:
    url: str
    acked: list[str] = field(default_factory=list)
    sent: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, senders: int = 4) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._sender, args=(n,), daemon=True) for n in range(senders)]
        for thread in threads:
            thread.start()
        return threads

    def _sender(self, n: int) -> None:
        deadline = time.monotonic() + 60
        i = 0
        while not self.stop.is_set() and time.monotonic() < deadline and i < 20_000:
            path = f"/load/{n}/{i}"
            i += 1
            self.sent += 1
            if _send(self.url, path):  # a new connection each time: a killed worker was carrying traffic
                self.acked.append(path)


def _metric(url: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


def _stored(data: Path) -> dict[str, tuple[int, int]]:
    """path -> (rows, distinct anonymous visitor ids), read with `collector sql` once the server stopped."""
    query = "SELECT path, count() AS n, uniqExact(visitor_id) AS v FROM analytics.events GROUP BY path"
    result = subprocess.run([sys.executable, "-m", "collector", "sql", "--format", "json", query],
                            env=_env(data), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return {row["path"]: (int(row["n"]), int(row["v"])) for row in json.loads(result.stdout)}


def test_two_workers_share_salts_sum_metrics_and_store_a_retry_once(tmp_path: Path) -> None:
    with supervisor(tmp_path) as running:
        pids = running.pids()
        # One anonymous visitor (same address and browser), once through each worker.
        with paused(pids["worker-1"]):
            assert _send(running.url, "/same/0")
        with paused(pids["worker-0"]):
            assert _send(running.url, "/same/1")
        deadline = time.monotonic() + 30
        while _metric(running.url, "collector_events_accepted_total").get((), 0) < 2:
            assert time.monotonic() < deadline, "both workers' counts never reached /metrics"
            time.sleep(0.2)
        assert _metric(running.url, "collector_events_accepted_total") == {(): 2.0}
        # A retry of one event_id through the other worker, once the first copy is stored: one row.
        with paused(pids["worker-1"]):
            assert _send(running.url, "/dup", DUP_ID)
        while sum(_metric(running.url, "collector_rows_flushed_total").values()) < 3:
            assert time.monotonic() < deadline + 30, "the first copy was never stored"
            time.sleep(0.2)
        with paused(pids["worker-0"]):
            assert _send(running.url, "/dup", DUP_ID)
        processes = {dict(labels)["process"] for labels in _metric(running.url, "process_resident_memory_bytes")}
        assert processes == {"owner", "worker-0", "worker-1"}
        proxied = httpx.get(f"{running.url}/privacy/inventory", timeout=30)
        assert proxied.status_code == 200 and SITE in proxied.json()["sites"]
        assert len(proxied.headers.get_list("date")) == 1
        asked = httpx.post(f"{running.url}/api/visitor/export", json={"site": SITE, "vid": "abcdefabcdef1234"},
                           timeout=30)  # a body, through the worker to the owner, which read it
        assert asked.status_code == 404 and asked.json()["detail"] == "nothing is stored for this id"
        # The owner's flush barrier: an event still in a worker's spool is in the visitor's export.
        consented = {**_event("/consented"), "consent": {"analytics": True}, "vid": "abcdefabcdef1234"}
        assert httpx.post(f"{running.url}/api/event", json=consented, headers={"User-Agent": FIREFOX},
                          timeout=10).json()["accepted"] == 1
        exported = httpx.post(f"{running.url}/api/visitor/export", json={"site": SITE, "vid": "abcdefabcdef1234"},
                              timeout=60)
        assert exported.status_code == 200 and len(exported.json()["events"]) == 1, exported.text
        assert httpx.get(f"{running.url}/_internal/ping", timeout=10).status_code == 404

    assert _stored_visitors(running.data) == 1, "one anonymous visitor, two workers, two ids"
    assert _stored(running.data)["/dup"] == (1, 1), "one event_id through two workers was stored twice"


def _leftovers(data: Path) -> list[str]:
    """Files still in a spool or a quarantine after an orderly stop: acknowledged rows the store never got."""
    spools = data / "spool"
    return sorted(str(p.relative_to(spools)) for p in spools.rglob("*") if p.is_file()) if spools.exists() else []


@pytest.mark.parametrize("kill", sorted(crashpoints.NAMES))
def test_one_kill_under_load_loses_no_acknowledged_event(tmp_path: Path, kill: str) -> None:
    """`ack` and `handed-over` kill a worker (or the owner's own writer), `owner-inserted` the owner; each
    restarted process must be ready again before the stop, or its spool waits for the next start."""
    armed = tmp_path / "armed"
    crash = {crashpoints.ENV: f"{kill}:{armed}"}
    with supervisor(tmp_path, crash) as running:
        pids = running.pids()
        load = Load(running.url)
        threads = load.run()
        time.sleep(LOAD_SECONDS)
        armed.touch()  # the next process to reach the point kills itself
        victim = _wait_killed(running, pids, armed)
        running.wait_restarted(victim, pids[victim])
        time.sleep(LOAD_SECONDS)
        load.stop.set()
        for thread in threads:
            thread.join(60)
        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(120) == 0
    assert _leftovers(running.data) == [], f"rows left in a spool or its quarantine ({victim} killed)"
    stored = _stored(running.data)
    assert len(load.acked) > 50, f"the load hardly ran: {load.sent} sent"
    lost = [(p, stored.get(p)) for p in load.acked if stored.get(p, (0, 0))[0] != 1]
    assert lost == [], f"{len(lost)} of {len(load.acked)} acknowledged events not stored once ({victim} killed)"
    assert max(n for n, _ in stored.values()) == 1, "an event was stored twice"


def _wait_killed(running: Supervisor, pids: dict[str, int], armed: Path) -> str:
    """The role that reached the armed crash point (its pid is replaced by the supervisor)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = running.pids()
        changed = [role for role, pid in pids.items() if now.get(role, pid) != pid]
        if changed:
            return changed[0]
        time.sleep(0.05)
    raise AssertionError(f"the crash point was never reached (armed file still there: {armed.exists()})")


def _stored_visitors(data: Path) -> int:
    result = subprocess.run([sys.executable, "-m", "collector", "sql",
                             "SELECT uniqExact(visitor_id) FROM analytics.events WHERE path LIKE '/same/%'"],
                            env=_env(data), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_a_spool_left_by_a_worker_is_drained_by_the_next_one_process_start(make_api, settings, clock) -> None:
    """`--workers 3`, then a plain `serve`: what worker-2 acknowledged but never handed over still lands."""
    worker = Process(WORKER, 2, 3)
    first = make_api()  # the rows a worker's pipeline made, for a site the test config knows
    first.collector.writer.close()
    orphan = worker.spool_dir(settings)
    spool = open_spool(settings, orphan)
    rows = [("analytics.events", row) for row in pipeline_rows(first, 3, "/orphan/")]
    payload, lines, parts = encode(rows, (), "2026-01-01", lambda site: 400)
    spool.append(payload, lines, parts=parts).result()
    spool.close()
    assert list(orphan.glob("*.seg"))
    api = make_api()
    assert api.count(where="path LIKE '/orphan/%'") == 3
    assert not orphan.exists()


def pipeline_rows(api: object, n: int, prefix: str) -> list[list[object]]:
    """Rows as a worker's pipeline makes them: n pageviews of test.example under `prefix`."""
    from collector import pipeline
    from collector import request as edge
    from collector.event import RequestInfo

    collector = api.collector  # type: ignore[attr-defined]
    info = RequestInfo(peer="81.2.69.142", forwarded_for=(), user_agent=FIREFOX, origin_host="", gpc=False, dnt=False)
    items = [{"site": "test.example", "type": "pageview", "url": f"https://test.example{prefix}{i}", "consent": {}}
             for i in range(n)]
    events = edge.build(items, collector.validate, info, int(collector.clock() * 1000), (86_400_000, 300_000))
    rows, _ = pipeline.run(events, collector.ctx)
    return [row for _, row in rows]
