"""SQL door figures: `/sql` overhead over a direct engine query for a small query (p50), and ingest p99 at half
rate with and without a 10M-row raw scan running through `/sql` at the same time.

One collector serves both: the raw table is filled through `/sql` as the admin (INSERT ... SELECT from the
generator), then the small query runs through `/sql` as an analyst (guarded: three engine calls) and as the
admin (one engine call); after the server stops, the same query runs on the store directly in this process.
"""

from __future__ import annotations

import base64
import hashlib
import json
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import generate, servers
from .http import WARMUP_S
from .table import Row

ADMIN_TOKEN = "bench-admin-token"
ANALYST = ("bench_analyst", "bench-analyst-password")
SMALL = "SELECT sum(views) FROM analytics.site_daily WHERE site = 'bench.example' AND day >= today() - 30"
SCAN = ("SELECT path, count() AS views, uniq(visitor_id) AS visitors FROM analytics.events "
        "GROUP BY path ORDER BY views DESC LIMIT 10")
SMALL_RUNS = 200
CHUNK_ROWS = 1_000_000


def _config() -> Path:
    digest = hashlib.sha256(ANALYST[1].encode()).hexdigest()
    path = Path(tempfile.mkstemp(prefix="bench-sql-", suffix=".toml")[1])
    path.write_text(servers.SITES.read_text() + f'\n[users.{ANALYST[0]}]\nrole = "analyst"\n'
                    f'password_sha256_hex = "{digest}"\n')
    return path


def _post(url: str, user: tuple[str, str], sql: str, timeout_s: float = 600.0) -> tuple[bytes, float]:
    """The answer and the engine's own time for it (X-ClickHouse-Summary elapsed_ns), in seconds."""
    credential = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    request = urllib.request.Request(f"{url}/sql", data=sql.encode(), method="POST",
                                     headers={"Authorization": f"Basic {credential}"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        summary = json.loads(response.headers.get("X-ClickHouse-Summary") or "{}")
        return bytes(response.read()), int(summary.get("elapsed_ns", 0)) / 1e9


def _p50s_ms(url: str, users: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Per user, (p50 end to end, p50 of the engine's own time) in ms; the users take turns, so a change in
    the machine's load touches every figure alike."""
    times: dict[str, list[tuple[float, float]]] = {user[0]: [] for user in users}
    for _ in range(SMALL_RUNS):
        for user in users:
            start = time.perf_counter()
            _, engine_s = _post(url, user, SMALL)
            times[user[0]].append((time.perf_counter() - start, engine_s))
    return {name: (statistics.median(t for t, _ in runs) * 1000, statistics.median(e for _, e in runs) * 1000)
            for name, runs in times.items()}


def _direct_p50_ms(data_dir: Path) -> float:
    import chdb  # the server has stopped: this process may open its store

    conn = chdb.connect(str(data_dir / "clickhouse"))
    try:
        conn.query(SMALL, "TabSeparated")
        times = []
        for _ in range(SMALL_RUNS):
            start = time.perf_counter()
            conn.query(SMALL, "TabSeparated")
            times.append(time.perf_counter() - start)
    finally:
        conn.close()
    return statistics.median(times) * 1000


def _scanning(url: str, stop: threading.Event, done: list[float], failed: list[BaseException]) -> None:
    try:
        while not stop.is_set():
            start = time.perf_counter()
            _post(url, ANALYST, SCAN)
            done.append(time.perf_counter() - start)
    except BaseException as exc:  # reported by the measuring thread: a failed scan voids the figure
        failed.append(exc)


def run(seconds: float, rows: int) -> tuple[list[Row], dict[str, Any]]:
    config = _config()
    admin = ("admin", ADMIN_TOKEN)
    with servers.collector(COLLECTOR_CONFIG=str(config), COLLECTOR_ADMIN_TOKEN=ADMIN_TOKEN) as server:
        fill_start = time.monotonic()
        for offset in range(0, rows, CHUNK_ROWS):
            _post(server.url, admin, f"{generate.INSERT} "
                                     f"{generate.events_select(min(CHUNK_ROWS, rows - offset), offset)}")
        _post(server.url, admin, "OPTIMIZE TABLE analytics.events FINAL")
        fill_s = time.monotonic() - fill_start
        _post(server.url, ANALYST, SMALL)  # the door opens its engine handles on the first query
        p50 = _p50s_ms(server.url, [ANALYST, admin])
        (guarded_ms, guarded_engine_ms), (admin_ms, admin_engine_ms) = p50[ANALYST[0]], p50["admin"]
        servers.wrk(server, WARMUP_S, site="warm.example")
        rate = servers.wrk(server, 5.0).rps
        delay_ms = servers.CONNECTIONS / (rate / 2) * 1000
        quiet = servers.wrk(server, seconds, delay_ms=delay_ms)
        stop, scans, failed = threading.Event(), list[float](), list[BaseException]()
        scanner = threading.Thread(target=_scanning, args=(server.url, stop, scans, failed))
        scanner.start()
        busy = servers.wrk(server, seconds, delay_ms=delay_ms)
        stop.set()
        scanner.join()
        server.stop()
    if failed:
        raise failed[0]
    direct_ms = _direct_p50_ms(server.data_dir)  # type: ignore[arg-type]
    servers.cleanup(server)
    config.unlink()
    scan_s = statistics.median(scans) if scans else float("nan")
    ratio = busy.p99_ms / quiet.p99_ms
    rows_out = [
        Row("SQL door: small query, direct engine (p50)", f"{direct_ms:.2f} ms",
            f"{SMALL_RUNS} runs in-process on the same store after the server stopped"),
        Row("SQL door: same query through /sql as admin (p50)", f"{admin_ms:.2f} ms",
            f"engine time inside the request p50 {admin_engine_ms:.2f} ms: overhead "
            f"{admin_ms - admin_engine_ms:.2f} ms (HTTP, auth, one engine call)"),
        Row("SQL door: same query through /sql as analyst (p50)", f"{guarded_ms:.2f} ms",
            f"engine time of the final statement p50 {guarded_engine_ms:.2f} ms: overhead "
            f"{guarded_ms - guarded_engine_ms:.2f} ms (adds the guard: formatQuery + EXPLAIN AST + a table lookup)"),
        Row("SQL door: ingest p99 at half rate, quiet", f"{quiet.p99_ms:.1f} ms",
            f"{quiet.rps:,.0f} req/s offered Poisson (half of {rate:,.0f}), p50 {quiet.p50_ms:.1f} ms"),
        Row(f"SQL door: ingest p99 at half rate during {rows / 1e6:.0f}M-row raw scans", f"{busy.p99_ms:.1f} ms",
            f"{len(scans)} scans (median {scan_s:.1f} s each) through /sql as analyst; p99 ratio {ratio:.2f}; "
            f"{busy.errors} errors"),
    ]
    return rows_out, {"rows": rows, "fill_s": fill_s, "direct_p50_ms": direct_ms, "admin_p50_ms": admin_ms,
                      "analyst_p50_ms": guarded_ms, "admin_engine_p50_ms": admin_engine_ms,
                      "analyst_engine_p50_ms": guarded_engine_ms, "rate_rps": rate, "quiet_p99_ms": quiet.p99_ms,
                      "busy_p99_ms": busy.p99_ms, "scans": len(scans), "scan_s": scan_s}
