"""Which part a process plays in `collector serve`: the one process of the default, or one of the
processes of `serve --workers N` (see workers.py and docs/deploy/workers.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .metrics import Metrics
from .settings import Settings

SINGLE, OWNER, WORKER, SERVER = "single", "owner", "worker", "server"


@dataclass(frozen=True, slots=True)
class Process:
    """`single`: the default, one process doing everything. Embedded `--workers N`: one `owner` (the
    store, the read side, no public port) and N `worker`s (ingest on the shared port; every other route
    handed to the owner). Server mode `--workers N`: N `server` processes, each a whole collector."""

    role: str = SINGLE
    index: int = 0
    workers: int = 1
    run_dir: Path | None = None  # the owner's socket and the metrics snapshots (several processes)
    token: str = ""  # proves a request on the owner's socket came from a worker of this supervisor

    @property
    def name(self) -> str:
        return self.role if self.role in (SINGLE, OWNER) else f"{self.role}-{self.index}"

    @property
    def owner_socket(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "owner.sock"

    def spool_dir(self, settings: Settings) -> Path:
        """Each ingest process has a spool of its own: two processes never append to one directory."""
        base = settings.data_dir / "spool"
        return base / f"worker-{self.index}" if self.role in (WORKER, SERVER) else base

    def orphan_spools(self, settings: Settings) -> list[Path]:
        """Spools no running process appends to (left by a run with more workers, or by workers when the
        collector now runs as one process): the single process, the owner and server process 0 drain them."""
        if self.role == WORKER or (self.role == SERVER and self.index != 0):
            return []
        base = settings.data_dir / "spool"
        mine = {f"worker-{i}" for i in range(self.workers)} if self.role in (OWNER, SERVER) else set()
        found = [p for p in sorted(base.glob("worker-*")) if p.is_dir() and p.name not in mine]
        if self.role == SERVER and any(base.glob("*.seg")):
            found.insert(0, base)  # the spool of an earlier run as one process
        return found

    def metrics(self) -> Metrics:
        if self.run_dir is None:
            return Metrics()
        return Metrics(self.run_dir / "metrics", self.name)


ONE_PROCESS = Process()  # the default: `collector serve` without --workers
