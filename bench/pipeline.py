"""Pipeline figure: microseconds per event for each step, on the recorded payloads, no HTTP, no store.

The edge (JSON decode, schema validation, typing) and the writer's row encoding are timed as steps
too, so the column sums to the CPU an event costs between the socket and the insert.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from collector import pipeline
from collector import request as edge
from collector.event import Event, RequestInfo
from collector.settings import Settings
from collector.state import build_collector

from .servers import PAYLOADS, SITES
from .table import Row

ROUNDS = 7


def load_payloads(path: Path = PAYLOADS) -> list[tuple[bytes, RequestInfo]]:
    out = []
    for line in path.read_text().splitlines():
        ua, origin, gpc, dnt, ip, body = line.split("\t")
        info = RequestInfo(peer="127.0.0.1", forwarded_for=(ip,), user_agent=ua,
                           origin_host=origin.split("://", 1)[1], gpc=gpc == "1", dnt=dnt == "1")
        out.append((body.encode(), info))
    return out


def _edge(payloads: list[tuple[bytes, RequestInfo]], validate: Callable[[Any], list[Any]]) -> list[Event]:
    now_ms = int(time.time() * 1000)
    events: list[Event] = []
    for body, info in payloads:
        events += edge.build(edge.decode(body), validate, info, now_ms, (86_400_000, 300_000))
    return events


def _round(payloads: list[tuple[bytes, RequestInfo]], collector: Any) -> dict[str, float]:
    """Seconds spent in each step for one pass over the payloads (step by step over all events)."""
    spent: dict[str, float] = {}
    start = time.perf_counter()
    events = _edge(payloads, collector.validate)
    spent["edge: decode + validate"] = time.perf_counter() - start
    for step in pipeline.PIPELINE:
        start = time.perf_counter()
        events = [e for e in (step(e, collector.ctx) for e in events) if e.dropped is None]
        spent[step.__name__] = time.perf_counter() - start
    start = time.perf_counter()
    for e in events:
        orjson.dumps(e.row)
    spent["writer: encode row"] = time.perf_counter() - start
    return spent


def run(repeat: int = 20) -> tuple[list[Row], dict[str, Any]]:
    payloads = load_payloads() * repeat
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        collector = build_collector(Settings(data_dir=Path(tmp), config_path=SITES))
        _round(payloads, collector)  # warm the geo and user-agent caches, as a running collector has them
        rounds = [_round(payloads, collector) for _ in range(ROUNDS)]
        collector.ctx.geo.close()
    n = len(payloads)
    per_step = {name: statistics.median(r[name] for r in rounds) / n * 1e6 for name in rounds[0]}
    total = sum(per_step.values())
    rows = [Row(f"Pipeline: {name}", f"{us:.2f} us/event") for name, us in per_step.items()]
    rows.append(Row("Pipeline: total", f"{total:.1f} us/event", f"{1e6 / total:,.0f} events/s on one core"))
    return rows, {"us_per_event": per_step, "total_us": total}
