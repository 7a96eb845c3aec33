"""Metrics named by stage and reason, exposed in the Prometheus text format by prometheus-client.

The hot path touches plain dicts only: `inc` adds to a counter keyed by (name, labels), `observe` finds
a histogram bucket with bisect (a prometheus-client child costs a label lookup and a lock per call).
prometheus-client builds the families at scrape time from those dicts, with a HELP line each, and
adds its process metrics.

Several processes (`serve --workers N`): each one writes a snapshot of its values to
`<dir>/<process>.json` every PUBLISH_S and at each scrape, and a scrape in any process merges every
snapshot: counters, histograms and gauges summed, process metrics labelled by process. A restarted
process resumes the counters of its own snapshot (its name is its role, not its pid), so totals never
go backwards; at most PUBLISH_S of a killed process's counts is lost. This is what prometheus-client's
multiprocess mode does, without a shared-memory write per increment.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import Metric

from .metrics_help import HELP

Labels = tuple[tuple[str, str], ...]
Key = tuple[str, Labels]
# Seconds: an ingest request takes about a millisecond, an insert tens to hundreds.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PUBLISH_S = 1.0


class Metrics:
    """Counters, callable gauges and histograms of one process; `render` answers /metrics."""

    def __init__(self, shared_dir: Path | None = None, process: str = "main") -> None:
        self.counters: Counter[Key] = Counter()
        self.gauges: dict[str, Callable[[], float]] = {}
        self.histograms: dict[Key, list[float]] = {}  # bucket counts, then +Inf, then the sum
        self._shared = shared_dir
        self._process = process
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Families(self))
        self._stop = threading.Event()
        if shared_dir is None:
            ProcessCollector(registry=self._registry)
            return
        shared_dir.mkdir(parents=True, exist_ok=True)
        self._resume()
        threading.Thread(target=self._publish_loop, name="collector-metrics", daemon=True).start()

    def inc(self, name: str, value: int = 1, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())) if labels else ())] += value

    def get(self, name: str, **labels: str) -> int:
        return int(self.counters[(name, tuple(sorted(labels.items())))])

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        self.gauges[name] = read

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """One sample of a duration histogram."""
        key = (name, tuple(sorted(labels.items())) if labels else ())
        counts = self.histograms.get(key)
        if counts is None:
            counts = self.histograms[key] = [0.0] * (len(BUCKETS) + 2)
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def observer(self, name: str, **labels: str) -> Callable[[float], None]:
        """`observe` with the labels looked up once: for the hot path."""
        key = (name, tuple(sorted(labels.items())) if labels else ())
        counts = self.histograms.setdefault(key, [0.0] * (len(BUCKETS) + 2))
        bisect_left = bisect.bisect_left

        def observe(seconds: float) -> None:
            counts[bisect_left(BUCKETS, seconds)] += 1
            counts[-1] += seconds

        return observe

    def render(self) -> str:
        return generate_latest(self._registry).decode()

    def close(self) -> None:
        """Stop publishing after one last snapshot (several processes only)."""
        self._stop.set()
        if self._shared is not None:
            self.publish()

    # -- several processes --

    def snapshot(self) -> dict[str, Any]:
        return {"counters": [[n, list(map(list, labels)), v] for (n, labels), v in dict(self.counters).items()],
                "gauges": {name: _read(read) for name, read in list(self.gauges.items())},
                "histograms": [[n, list(map(list, labels)), v] for (n, labels), v in dict(self.histograms).items()],
                "process": [[s.name, s.value] for family in ProcessCollector(registry=None).collect()
                            for s in family.samples]}

    def publish(self) -> None:
        """Write this process's snapshot for the other processes' scrapes (atomically)."""
        assert self._shared is not None
        path = self._shared / f"{self._process}.json"
        # One temporary file per thread: a scrape publishes while the publisher thread may be doing the same,
        # and a shared name let one thread's rename find the file already gone (a 500 on /metrics).
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(orjson.dumps(self.snapshot()))
        os.replace(tmp, path)

    def merged(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(process, snapshot) of every process: this one live, the others as last published."""
        if self._shared is None:
            yield self._process, self.snapshot()
            return
        self.publish()
        for path in sorted(self._shared.glob("*.json")):
            try:
                yield path.stem, orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue  # replaced while read: its next snapshot counts

    def _resume(self) -> None:
        assert self._shared is not None
        try:
            old = orjson.loads((self._shared / f"{self._process}.json").read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return
        for name, labels, value in old["counters"]:
            self.counters[(name, tuple(map(tuple, labels)))] += value
        for name, labels, counts in old["histograms"]:
            self.histograms[(name, tuple(map(tuple, labels)))] = list(counts)

    def _publish_loop(self) -> None:
        while not self._stop.wait(PUBLISH_S):
            with contextlib.suppress(OSError):  # a full or vanished directory costs freshness, not the process
                self.publish()


def _read(read: Callable[[], float]) -> float:
    try:
        return float(read())
    except Exception:
        return float("nan")


class _Families:
    """A prometheus-client collector over every process's snapshot (one process: this one)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        counters: Counter[Key] = Counter()
        gauges: Counter[str] = Counter()
        histograms: dict[Key, list[float]] = {}
        processes: list[tuple[str, list[list[Any]]]] = []
        for process, snap in self.metrics.merged():
            for name, labels, value in snap["counters"]:
                counters[(name, tuple(map(tuple, labels)))] += value
            for name, value in snap["gauges"].items():
                gauges[name] += value
            for name, labels, counts in snap["histograms"]:
                key = (name, tuple(map(tuple, labels)))
                prev = histograms.get(key)
                histograms[key] = counts if prev is None else [a + b for a, b in zip(prev, counts, strict=True)]
            processes.append((process, snap["process"]))
        yield from _counter_families(counters)
        for name, value in sorted(gauges.items()):
            family = Metric(name, HELP.get(name, name.replace("_", " ")), "gauge")
            family.add_sample(name, {}, value)
            yield family
        yield from _histogram_families(histograms)
        if self.metrics._shared is not None:
            yield from _process_families(processes)


def _counter_families(counters: Counter[Key]) -> Iterator[Metric]:
    by_name: dict[str, list[tuple[Labels, float]]] = {}
    for (name, labels), value in sorted(counters.items()):
        by_name.setdefault(name, []).append((labels, value))
    for name, samples in by_name.items():
        base = name.removesuffix("_total")
        family = Metric(base, HELP.get(name, name.replace("_", " ")), "counter")
        for labels, total in samples:
            family.add_sample(base + "_total", dict(labels), total)
        yield family


def _histogram_families(histograms: dict[Key, list[float]]) -> Iterator[Metric]:
    by_name: dict[str, list[tuple[Labels, list[float]]]] = {}
    for (name, labels), counts in sorted(histograms.items()):
        by_name.setdefault(name, []).append((labels, counts))
    for name, samples in by_name.items():
        family = Metric(name, HELP.get(name, name.replace("_", " ")), "histogram")
        for labels, counts in samples:
            running = 0.0
            for bound, count in zip((*map(str, BUCKETS), "+Inf"), counts[:-1], strict=True):
                running += count
                family.add_sample(name + "_bucket", {**dict(labels), "le": bound}, running)
            family.add_sample(name + "_count", dict(labels), running)
            family.add_sample(name + "_sum", dict(labels), counts[-1])
        yield family


def _process_families(processes: list[tuple[str, list[list[Any]]]]) -> Iterator[Metric]:
    """prometheus-client's process metrics of every process, labelled by process."""
    families: dict[str, Metric] = {}
    for process, samples in processes:
        for name, value in samples:
            if name not in families:
                kind = "counter" if name.endswith("_total") else "gauge"
                families[name] = Metric(name.removesuffix("_total") if kind == "counter" else name,
                                        HELP.get(name, name.replace("_", " ")), kind)
            families[name].add_sample(name, {"process": process}, value)
    yield from families.values()
