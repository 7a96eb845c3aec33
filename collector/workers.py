"""`collector serve --workers N`: a supervisor that binds the port once and runs the collector's processes.

Embedded (no CLICKHOUSE_URL): one store owner (the only process that opens chDB; it serves the read
side and listens only on a Unix socket in a private directory) and N workers sharing the public port
(ingest into their own spools; every other route streamed to the owner). Server mode: N whole
collectors sharing the port, each with its own spool and its own connection to the server; the
supervisor migrates once before starting them.

A child that dies is started again with the same index, so a worker finds its own spool and replays
it. A child that dies within START_GRACE_S of its start QUICK_DEATHS times in a row stops the
collector (a crash loop is a configuration problem, not bad luck). SIGTERM or SIGINT: the workers
stop first (their last rows go to the owner), then the owner.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from . import config as config_mod
from .handoff import UnixConnection
from .process import OWNER, SERVER, WORKER, Process
from .settings import Settings
from .store import migrate, open_store

log = logging.getLogger("collector.workers")
START_GRACE_S = 10.0
QUICK_DEATHS = 3
OWNER_START_S = 600.0  # opening, migrating and draining a large embedded store can take minutes
STOP_S = 60.0


@dataclass
class _Child:
    process: Process
    proc: BaseProcess | None = None
    started: float = 0.0
    quick_deaths: int = 0


def run(settings: Settings, host: str, port: int, workers: int) -> int:
    """Run until SIGTERM/SIGINT; the exit status (0 after an orderly stop)."""
    config_mod.load(settings.config_path)  # a bad config fails here, once, not in N children
    embedded = settings.clickhouse_url is None
    if not embedded:
        store = open_store(settings)
        try:
            migrate(store)
        finally:
            store.close()
    run_dir = Path(tempfile.mkdtemp(prefix="collector-"))  # 0700: the owner's socket is ours alone
    token = secrets.token_hex(16)
    listener = _bind(host, port)
    spawn = multiprocessing.get_context("spawn")
    owner = _Child(Process(OWNER, 0, workers, run_dir, token)) if embedded else None
    role = WORKER if embedded else SERVER
    children = [_Child(Process(role, i, workers, run_dir, token)) for i in range(workers)]
    stop = threading.Event()

    def on_signal(sig: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    status = 0
    try:
        if owner is not None:
            _start(spawn, owner, None)
            if not _wait_owner(owner, stop):
                if stop.is_set():
                    return 0
                log.error("the store owner did not start: see its log above")
                return 1
        for child in children:
            _start(spawn, child, listener)
        log.info("collector serving", extra={"workers": workers, "mode": "embedded" if embedded else "server"})
        status = _watch(spawn, [*([owner] if owner else []), *children], listener, stop)
    finally:
        _stop(children)
        _stop([owner] if owner else [])
        listener.close()
        shutil.rmtree(run_dir, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _start(spawn: multiprocessing.context.SpawnContext, child: _Child, listener: socket.socket | None) -> None:
    child.proc = spawn.Process(target=_child_main, args=(child.process, listener), name=child.process.name)
    child.proc.start()
    child.started = time.monotonic()
    log.info("process started", extra={"role": child.process.name, "pid": child.proc.pid})


def _watch(spawn: multiprocessing.context.SpawnContext, children: list[_Child], listener: socket.socket,
           stop: threading.Event) -> int:
    """Restart children that die until asked to stop; 1 if one keeps dying at start."""
    while not stop.wait(0.2):
        for child in children:
            assert child.proc is not None
            if child.proc.is_alive():
                continue
            quick = time.monotonic() - child.started < START_GRACE_S
            child.quick_deaths = child.quick_deaths + 1 if quick else 0
            log.warning("process exited; starting it again", extra={
                "role": child.process.name, "exitcode": child.proc.exitcode})
            if child.quick_deaths >= QUICK_DEATHS:
                log.error("process keeps dying at start: stopping", extra={"role": child.process.name})
                return 1
            _start(spawn, child, None if child.process.role == OWNER else listener)
    return 0


def _wait_owner(owner: _Child, stop: threading.Event) -> bool:
    deadline = time.monotonic() + OWNER_START_S
    while time.monotonic() < deadline and not stop.is_set():
        assert owner.proc is not None
        if not owner.proc.is_alive():
            return False
        if _owner_ready(owner.process.owner_socket):
            return True
        time.sleep(0.1)
    return False


def _owner_ready(path: Path) -> bool:
    conn = UnixConnection(path, 2.0)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _stop(children: list[_Child]) -> None:
    """SIGTERM, then wait; SIGKILL only past STOP_S (a durable spool keeps what was not handed over)."""
    live = [c.proc for c in children if c.proc is not None and c.proc.is_alive()]
    for proc in live:
        proc.terminate()
    deadline = time.monotonic() + STOP_S
    for proc in live:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            log.error("process did not stop in time: killed", extra={"role": proc.name})
            proc.kill()
            proc.join()


def _stop_with_parent() -> None:
    """Linux: SIGTERM this child if the supervisor dies (even by SIGKILL), so no worker outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _child_main(process: Process, listener: socket.socket | None) -> None:
    """A child's life: build its app, serve until SIGTERM."""
    os.setpgrp()  # the terminal's Ctrl-C reaches the supervisor only, which stops the children in order
    _stop_with_parent()
    from . import logs
    from .app import create_app
    from .handoff import OwnerApp
    from .proxy import WorkerApp
    from .serving import build_server
    from .settings import from_env

    settings = from_env()
    logs.configure(settings.log_level)
    if process.role == WORKER:
        # Each insert costs the engine a fixed part (every materialized view runs on every block): N workers
        # sealing every interval would make N times the inserts of one process, so each seals N times less often.
        settings = replace(settings, flush_interval_ms=settings.flush_interval_ms * process.workers)
    app = create_app(settings, process=process)
    if process.role == OWNER:
        build_server(OwnerApp(app, process.token), uds=str(process.owner_socket)).run()
        return
    assert listener is not None
    if process.role == SERVER:
        build_server(app).run(sockets=[listener])
        return
    build_server(WorkerApp(app, process.owner_socket, process.token)).run(sockets=[listener, _control(process)])


def _control(process: Process) -> socket.socket:
    """A worker's own socket, where the owner asks it to hand everything over (its flush barrier)."""
    assert process.run_dir is not None
    path = process.run_dir / f"worker-{process.index}.sock"
    path.unlink(missing_ok=True)  # left by this worker's previous life
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    os.chmod(path, 0o600)
    sock.listen(64)
    return sock
