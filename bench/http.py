"""HTTP figures: single-event against the bare-Starlette ceiling, p99 at half rate, batched, overload RSS."""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import Any

from . import servers
from .table import Row

WARMUP_S = 3.0


def _measure_collector(seconds: float, *, batch: int = 1, connections: int = servers.CONNECTIONS,
                       **settings: str) -> dict[str, Any]:
    """Warm up on warm.example, load bench.example for `seconds`, drain, stop, count what landed."""
    with servers.collector(**settings) as server:
        servers.wrk(server, WARMUP_S, batch=batch, site="warm.example", connections=connections)
        servers.wait_drained(server)
        cpu_before = server.cpu()
        load = servers.wrk(server, seconds, batch=batch, connections=connections)
        drain_s = servers.wait_drained(server)
        cpu = {group: spent - cpu_before[group] for group, spent in server.cpu().items()}
        rss = server.rss_mb()
        server.stop()
    stored, dropped = servers.landed(server.data_dir)  # type: ignore[arg-type]
    servers.cleanup(server)
    elapsed = load.seconds + drain_s
    # Landed = inserted rows only; duplicates (acknowledged, not stored) and bots are reported apart.
    return {"load": load, "drain_s": drain_s, "stored": stored, "dropped": dropped, "rss_mb": rss, "cpu_s": cpu,
            "landed_per_s": stored / elapsed, "duplicates": dropped.get("duplicate", 0)}


def _drops(c: dict[str, Any]) -> str:
    return ", ".join(f"{n:,} {reason}" for reason, n in sorted(c["dropped"].items())) or "none"


def _measure_bare(seconds: float) -> tuple[servers.Load, float]:
    """The load and the server's CPU seconds under it."""
    with servers.bare() as server:
        servers.wrk(server, WARMUP_S)
        before = sum(server.cpu().values())
        load = servers.wrk(server, seconds)
        return load, sum(server.cpu().values()) - before


def _cpu_per(units: int, server_cpu: dict[str, float]) -> dict[str, float]:
    """Microseconds of CPU per unit (request or event) by thread group (2 cores = 2 s of CPU per second)."""
    return {group: spent / units * 1e6 for group, spent in server_cpu.items()}


def single(seconds: float) -> tuple[list[Row], dict[str, Any]]:
    """Bare Starlette and the collector under the same closed-loop load, then the collector at half rate."""
    ceiling, bare_cpu_s = _measure_bare(seconds)
    c = _measure_collector(seconds)
    load: servers.Load = c["load"]
    ratio = c["landed_per_s"] / ceiling.rps
    per_request = _cpu_per(load.requests, c["cpu_s"])
    half_rate = c["landed_per_s"] / 2
    # Open loop at half the landed rate: each of the 64 connections waits an exponential pause between
    # requests, so arrivals are Poisson and the latency is the collector's, not a queue wrk built.
    mean_delay_ms = servers.CONNECTIONS / half_rate * 1000
    with servers.collector() as server:
        servers.wrk(server, WARMUP_S, site="warm.example")
        half = servers.wrk(server, seconds, delay_ms=mean_delay_ms)
        server.stop()
    servers.cleanup(server)
    rows = [
        Row("HTTP single: bare Starlette ceiling", f"{ceiling.rps:,.0f} req/s",
            f"p50 {ceiling.p50_ms:.1f} ms, p99 {ceiling.p99_ms:.1f} ms"),
        Row("HTTP single: collector, answered", f"{load.rps:,.0f} req/s",
            f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, {load.errors} errors"),
        Row("HTTP single: collector, landed", f"{c['landed_per_s']:,.0f} events/s",
            f"{c['stored']:,} rows inserted (fresh event ids per request); not stored, counted apart: {_drops(c)}; "
            f"drain {c['drain_s']:.1f} s"),
        Row("HTTP single: landed / ceiling", f"{ratio:.2f}", "target >= 0.85", ratio >= 0.85),
        Row("HTTP single: CPU per request", f"{sum(per_request.values()):,.0f} us",
            f"collector: server {sum(per_request.values()):.0f} us ("
            + ", ".join(f"{group} {us:.0f}" for group, us in per_request.items())
            + f") + load generator {load.client_cpu_s / load.requests * 1e6:.0f} us; bare: server "
            f"{bare_cpu_s / ceiling.requests * 1e6:.0f} us + load generator "
            f"{ceiling.client_cpu_s / ceiling.requests * 1e6:.0f} us"),
        Row("HTTP single: p99 at half rate", f"{half.p99_ms:.1f} ms",
            f"{half.rps:,.0f} req/s offered Poisson, p50 {half.p50_ms:.1f} ms; target <= 10 ms", half.p99_ms <= 10),
    ]
    return rows, {"ceiling_rps": ceiling.rps, "collector_rps": load.rps, "landed_per_s": c["landed_per_s"],
                  "dropped": c["dropped"],
                  "ratio": ratio, "p50_ms": load.p50_ms, "p99_ms": load.p99_ms, "half_rate_rps": half.rps,
                  "half_rate_p99_ms": half.p99_ms, "cpu_s": c["cpu_s"], "bare_cpu_s": bare_cpu_s,
                  "client_cpu_s": load.client_cpu_s, "bare_client_cpu_s": ceiling.client_cpu_s}


def batched(seconds: float) -> tuple[list[Row], dict[str, Any]]:
    c = _measure_collector(seconds, batch=50, connections=16)
    load: servers.Load = c["load"]
    per_event = _cpu_per(load.requests * 50, c["cpu_s"])
    rows = [Row("HTTP batched (50/request): landed", f"{c['landed_per_s']:,.0f} events/s",
                f"{load.rps:,.0f} req/s, p99 {load.p99_ms:.1f} ms, {load.errors} errors; inserted rows only, "
                f"not stored: {_drops(c)}; target >= 40,000", c["landed_per_s"] >= 40_000),
            Row("HTTP batched: CPU per event", f"{sum(per_event.values()):.1f} us",
                ", ".join(f"{group} {us:.1f}" for group, us in per_event.items()))]
    return rows, {"landed_per_s": c["landed_per_s"], "rps": load.rps, "p99_ms": load.p99_ms, "cpu_s": c["cpu_s"],
                  "dropped": c["dropped"]}


def _sustainable_rate(seconds: float) -> float:
    return float(_measure_collector(seconds)["landed_per_s"])


def overload(seconds: float, sustainable: float | None = None) -> tuple[list[Row], dict[str, Any]]:
    """5x the sustainable single-event rate for `seconds`, RSS sampled twice a second."""
    rate = sustainable or _sustainable_rate(5.0)
    connections = servers.CONNECTIONS * 4
    mean_delay_ms = connections / (5 * rate) * 1000
    samples: list[float] = []
    with servers.collector() as server:
        base = server.rss_mb()
        result: dict[str, servers.Load] = {}
        thread = threading.Thread(target=lambda: result.update(
            load=servers.wrk(server, seconds, connections=connections, delay_ms=mean_delay_ms)))
        thread.start()
        while thread.is_alive():
            samples.append(server.rss_mb())
            time.sleep(0.5)
        thread.join()
        server.stop()
    servers.cleanup(server)
    load = result["load"]
    third = max(1, len(samples) // 3)
    middle, last = statistics.mean(samples[third:2 * third]), statistics.mean(samples[-third:])
    peak = max(samples)
    flat = last <= middle * 1.10
    rows = [Row(f"Overload 5x ({5 * rate:,.0f}/s offered, {seconds:.0f} s): RSS", f"{peak:,.0f} MB peak",
                f"start {base:,.0f} MB, middle third {middle:,.0f}, last third {last:,.0f}; answered "
                f"{load.rps:,.0f} req/s, {load.errors:,} non-2xx/errors; target <= 400 MB and flat",
                peak <= 400 and flat)]
    return rows, {"rss_peak_mb": peak, "rss_start_mb": base, "rss_middle_mb": middle, "rss_last_mb": last,
                  "offered_rps": 5 * rate, "answered_rps": load.rps, "errors": load.errors}


def replay(seconds: float) -> tuple[list[Row], dict[str, Any]]:
    """Landed events/s and CPU per event, single and batched, replaying the recorded event ids (as the bench
    did before) and fresh ones (as it does now), alternating, in one run: what the duplicates flattered."""
    out: dict[str, Any] = {}
    for mode, flag in (("recorded ids", "1"), ("fresh ids", "0")):
        os.environ["BENCH_REPLAY_IDS"] = flag
        try:
            single_c = _measure_collector(seconds)
            batched_c = _measure_collector(seconds, batch=50, connections=16)
        finally:
            os.environ.pop("BENCH_REPLAY_IDS", None)
        out[mode] = {}
        for kind, c, per in (("single", single_c, 1), ("batched", batched_c, 50)):
            events, elapsed = c["load"].requests * per, c["load"].seconds + c["drain_s"]
            out[mode][kind] = {"inserted_per_s": c["landed_per_s"], "dropped": c["dropped"],
                               "old_landed_per_s": (c["stored"] + sum(c["dropped"].values())) / elapsed,
                               "cpu_us_per_event": sum(c["cpu_s"].values()) / events * 1e6}
    rows = []
    for mode, kinds in out.items():
        for kind, f in kinds.items():
            rows.append(Row(f"HTTP {kind}, {mode}: inserted", f"{f['inserted_per_s']:,.0f} events/s",
                            f"counted as landed before (rows + drops): {f['old_landed_per_s']:,.0f}/s; not stored: "
                            + (", ".join(f"{n:,} {r}" for r, n in sorted(f["dropped"].items())) or "none")
                            + f"; server CPU {f['cpu_us_per_event']:.1f} us/event"))
    return rows, out
