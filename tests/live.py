"""A real `python -m collector serve` subprocess with its own data dir, for restarts, signals and crashes,
plus the client helpers those tests share.

Every process's stdout/stderr go to files numbered per root directory, not per `Collector` object, and
every CLI run's output is appended to `cli.log`: a restarted or crashed process never overwrites what an
earlier one wrote, so a scan of `logs` reads every line any process wrote under that root."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from conftest import FIREFOX, TEST_CONFIG, free_port

ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached before the deadline"
        time.sleep(0.01)


class Collector:
    def __init__(self, root: Path, **env: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.data_dir = root / "data"
        self.config = root / "sites.toml"
        if not self.config.exists():
            self.config.write_text(TEST_CONFIG)
        self.env = {**os.environ, "COLLECTOR_DATA_DIR": str(self.data_dir), "COLLECTOR_CONFIG": str(self.config),
                    "COLLECTOR_LOG_LEVEL": "INFO", **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.run = 0  # the number of this object's current process among every process started under root

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def logs(self) -> list[Path]:
        return sorted(self.root.glob("*.log"))

    def start(self) -> Collector:
        self.port = free_port()
        self.run = 1 + len(list(self.root.glob("stdout-*.log")))
        # "xb": a log of another process is never reopened, whichever object started it
        out = open(self.root / f"stdout-{self.run}.log", "xb")  # noqa: SIM115
        err = open(self.root / f"stderr-{self.run}.log", "xb")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "collector", "serve", "--port", str(self.port)],
                                     env=self.env, cwd=ROOT, stdout=out, stderr=err)
        out.close()
        err.close()
        wait_for(self._ready, 60, "readiness")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.stderr()
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stderr(self) -> str:
        return (self.root / f"stderr-{self.run}.log").read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        """SIGTERM and wait for the exit; the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `collector ARGS`; its stdout and stderr are also appended to `cli.log` under root."""
        result = subprocess.run([sys.executable, "-m", "collector", *args], env=self.env, cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        with open(self.root / "cli.log", "a") as log:
            log.write(f"$ collector {' '.join(args[:1])}\n{result.stdout}{result.stderr}")
        return result

    def sql(self, query: str) -> list[dict[str, Any]]:
        """A query on the stopped collector's store (embedded: one process at a time)."""
        result = self.cli("sql", query, "--format", "json")
        assert result.returncode == 0, result.stderr
        return orjson.loads(result.stdout)  # type: ignore[no-any-return]

    def path_counts(self, prefix: str) -> dict[str, int]:
        rows = self.sql(f"SELECT path, count() AS n FROM analytics.events WHERE startsWith(path, '{prefix}') "
                        "GROUP BY path")
        return {r["path"]: int(r["n"]) for r in rows}


class Load:
    """Client threads posting uniquely-pathed events to `url_of()` until stopped; records each 202's paths
    and the status mix. Connection errors (a killed server) count as `error`, never as acknowledged."""

    def __init__(self, url_of: Callable[[], str], prefix: str, threads: int = 4, batch: int = 3,
                 site: str = "test.example") -> None:
        self.url_of, self.prefix, self.batch, self.site = url_of, prefix, batch, site
        self.acked: list[str] = []
        self.statuses: dict[int | str, int] = {}
        self.missing_retry_after = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def count(self) -> int:
        with self._lock:
            return len(self.acked)

    def _run(self, n: int) -> None:
        i = 0
        client = httpx.Client(timeout=30)
        while not self._stop.is_set():
            paths = [f"{self.prefix}{n}-{i}-{k}" for k in range(1 + i % self.batch)]
            body = orjson.dumps([{"site": self.site, "type": "pageview", "url": f"https://{self.site}{p}",
                                  "consent": {}} for p in paths])
            try:
                r = client.post(f"{self.url_of()}/api/event", content=body,
                                headers={"content-type": "application/json", "user-agent": FIREFOX})
                status: int | str = r.status_code
            except httpx.HTTPError:
                status = "error"
                client.close()
                client = httpx.Client(timeout=30)
                self._stop.wait(0.02)  # client pacing while the server restarts
            with self._lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 202:
                    self.acked += paths
                elif status in (429, 503) and "retry-after" not in r.headers:
                    self.missing_retry_after += 1
            i += 1
        client.close()
