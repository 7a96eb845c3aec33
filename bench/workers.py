"""`serve --workers N` against the one-process default: single-event landed throughput, CPU per request
over every process of the collector, what that predicts per core, and the RSS of each process.

Each figure: a fresh data dir, 3 s of warm-up on another site, `seconds` of closed-loop wrk load (64
connections, one wrk thread: the load generator shares this machine's cores), drain, stop (the
supervisor stops the workers, which hand their last rows to the owner, then the owner), count what
landed with `collector sql`.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import servers
from .table import Row

CONFIGS: tuple[tuple[str, list[str]], ...] = (("one process (default)", []), ("--workers 1", ["--workers", "1"]),
                                             ("--workers 2", ["--workers", "2"]))


def _tree(pid: int) -> list[int]:
    """`pid` and every descendant (the supervisor, its owner and workers, multiprocessing's tracker)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def _cpu_s(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _roles(server: servers.Server, log: Path) -> dict[str, int]:
    """role -> pid: the supervisor's "process started" lines; the default is one process."""
    roles = {"supervisor": server.proc.pid}
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"process started"' in line:
            entry = json.loads(line)
            roles[entry["role"]] = entry["pid"]
    return roles if len(roles) > 1 else {"collector": server.proc.pid}


@contextmanager
def _collector(args: list[str]) -> Iterator[tuple[servers.Server, Path]]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    port = servers.free_port()
    log = data_dir / "serve.log"
    env = servers.collector_env(data_dir, COLLECTOR_LOG_LEVEL="INFO")
    with log.open("wb") as out:
        proc = subprocess.Popen([servers.PYTHON, "-m", "collector", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), *args], cwd=servers.ROOT, env=env, stdout=out, stderr=out)
    server = servers.Server(proc, port, data_dir)
    try:
        servers._wait_ready(server, log)
        yield server, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def measure(args: list[str], seconds: float) -> dict[str, Any]:
    with _collector(args) as (server, log):
        servers.wrk(server, 3.0, site="warm.example")
        servers.wait_drained(server)
        time.sleep(1.5)  # several processes: the gauges are published once a second
        servers.wait_drained(server)
        pids = _tree(server.proc.pid)
        cpu_before = _cpu_s(pids)
        load = servers.wrk(server, seconds)
        drain_s = servers.wait_drained(server)
        cpu_s = _cpu_s(pids) - cpu_before
        rss = {role: _rss_mb(pid) for role, pid in _roles(server, log).items()}
        server.stop()
    stored, dropped = servers.landed(server.data_dir)  # type: ignore[arg-type]
    servers.cleanup(server)
    landed = stored  # inserted rows only; duplicates and bots are not landed events
    return {"rps": load.rps, "p99_ms": load.p99_ms, "errors": load.errors, "landed": landed, "dropped": dropped,
            "landed_per_s": landed / (load.seconds + drain_s), "cpu_us": cpu_s / load.requests * 1e6,
            "cores_busy": cpu_s / load.seconds, "client_cpu_us": load.client_cpu_s / load.requests * 1e6,
            "rss_mb": rss}


def run(seconds: float) -> tuple[list[Row], dict[str, Any]]:
    raw = {name: measure(args, seconds) for name, args in CONFIGS}
    base = raw[CONFIGS[0][0]]["landed_per_s"]
    rows = []
    for name, r in raw.items():
        per_core = 1e6 / r["cpu_us"]
        rows += [
            Row(f"workers: {name}, landed", f"{r['landed_per_s']:,.0f} events/s",
                f"{r['landed_per_s'] / base:.2f} of one process; {r['rps']:,.0f} req/s answered, p99 "
                f"{r['p99_ms']:.1f} ms, {r['errors']} errors"),
            Row(f"workers: {name}, CPU per request", f"{r['cpu_us']:,.0f} us",
                f"all processes; {r['cores_busy']:.2f} cores busy + load generator {r['client_cpu_us']:.0f} us/req; "
                f"predicts {per_core:,.0f} events/s per core"),
            Row(f"workers: {name}, RSS", f"{sum(r['rss_mb'].values()):,.0f} MB",
                ", ".join(f"{role} {mb:.0f}" for role, mb in r["rss_mb"].items())),
        ]
    return rows, raw
