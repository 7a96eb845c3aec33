"""Servers under test and the load generator: start, wait, drive with wrk, drain, stop, count."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PAYLOADS = BENCH / "data" / "payloads.tsv"
SITES = BENCH / "sites.toml"
LUA = BENCH / "events.lua"
PYTHON = sys.executable
CONNECTIONS = 64


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the server's threads, in three groups: the event loop (the main
        thread), the other Python threads (spool, writer, workers) and the engine's native threads."""
        groups = {"event loop": 0.0, "python threads": 0.0, "engine": 0.0}
        tick = os.sysconf("SC_CLK_TCK")
        for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                name = Path(f"/proc/{self.proc.pid}/task/{tid}/comm").read_text().strip()
                fields = Path(f"/proc/{self.proc.pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended meanwhile
                continue
            group = "event loop" if int(tid) == self.proc.pid else "python threads" if name.startswith(
                "python") else "engine"
            groups[group] += (int(fields[11]) + int(fields[12])) / tick
        return groups

    def metric(self, name: str) -> float:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name) and not line.startswith("#") and line[len(name)] in " {")

    def stop(self, timeout_s: float = 120.0) -> float:
        """SIGTERM, wait for the exit (the writer drains on the way out); seconds it took."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("server did not stop within the deadline") from None
        return time.monotonic() - start


def _wait_ready(server: Server, log: Path, deadline_s: float = 120.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited during startup:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server not ready before the deadline")


def collector_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "COLLECTOR_DATA_DIR": str(data_dir), "COLLECTOR_CONFIG": str(SITES),
            "COLLECTOR_TRUSTED_PROXIES": "127.0.0.1", "COLLECTOR_LOG_LEVEL": "WARNING", **extra}


@contextmanager
def collector(**settings: str) -> Iterator[Server]:
    """`python -m collector serve` on a fresh data dir; the data dir outlives the stop for counting."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-collector-"))
    port = free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([PYTHON, "-m", "collector", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=ROOT, env=collector_env(data_dir, **settings), stdout=out, stderr=out)
    server = Server(proc, port, data_dir)
    try:
        _wait_ready(server, log)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def cleanup(server: Server) -> None:
    if server.data_dir is not None:
        shutil.rmtree(server.data_dir, ignore_errors=True)


@contextmanager
def bare() -> Iterator[Server]:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-bare-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen([PYTHON, "-m", "bench.bare", "--port", str(port)], cwd=ROOT, stdout=out, stderr=out)
    server = Server(proc, port)
    try:
        _wait_ready(server, log)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        log.unlink(missing_ok=True)


@dataclass
class Load:
    requests: int
    seconds: float
    errors: int  # non-2xx answers plus socket errors and timeouts
    p50_ms: float
    p99_ms: float
    client_cpu_s: float = 0.0  # CPU seconds the load generator itself used

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk(server: Server, seconds: float, *, connections: int = CONNECTIONS, batch: int = 1,
        site: str = "bench.example", delay_ms: float = 0.0) -> Load:
    """Drive POST /api/event with the recorded payloads for `seconds`; one wrk thread."""
    if shutil.which("wrk") is None:
        raise SystemExit("bench: the HTTP figures need wrk (Debian/Ubuntu: apt-get install wrk)")
    env = {**os.environ, "BENCH_DATA": str(PAYLOADS), "BENCH_BATCH": str(batch), "BENCH_SITE": site,
           "BENCH_DELAY_MS": f"{delay_ms:.3f}"}
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", str(LUA), f"{server.url}/api/event"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    r = json.loads(line[len("BENCH "):])
    errors = sum(r[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts"))
    return Load(r["requests"], r["duration_us"] / 1e6, errors, r["p50_us"] / 1000, r["p99_us"] / 1000, client_cpu_s)


def wait_drained(server: Server, deadline_s: float = 120.0) -> float:
    """Seconds until the collector's writer buffer is empty (every accepted row handed to ClickHouse)."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if server.metric("collector_buffer_rows") == 0:
            return time.monotonic() - start
        time.sleep(0.05)
    raise RuntimeError("the writer did not drain before the deadline")


def sql(data_dir: Path, query: str) -> list[list[str]]:
    """Run `collector sql` on a stopped collector's data dir; TSV rows without the header."""
    out = subprocess.run([PYTHON, "-m", "collector", "sql", query], cwd=ROOT, env=collector_env(data_dir),
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split("\t") for line in out.splitlines()[1:]]


def landed(data_dir: Path, site: str = "bench.example") -> tuple[int, dict[str, int]]:
    """(rows in analytics.events, events not stored by reason from analytics.dropped_daily) for the site.
    Only the rows are landed events: a duplicate is acknowledged but never inserted, a bot never stored."""
    rows = sql(data_dir, f"SELECT '', count() FROM analytics.events WHERE site = '{site}' UNION ALL SELECT reason, "
                         f"sum(events) FROM analytics.dropped_daily WHERE site = '{site}' GROUP BY reason")
    counts = {str(reason): int(float(n)) for reason, n in rows}
    return counts.pop("", 0), counts
