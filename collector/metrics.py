"""Counters named by stage and reason, rendered in the Prometheus text format."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable


class Metrics:
    def __init__(self) -> None:
        self.counters: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self.gauges: dict[str, Callable[[], float]] = {}

    def inc(self, name: str, value: int = 1, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())) if labels else ())] += value

    def get(self, name: str, **labels: str) -> int:
        return self.counters[(name, tuple(sorted(labels.items())))]

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        self.gauges[name] = read

    def render(self) -> str:
        lines = []
        for (name, labels), value in sorted(self.counters.items()):
            label_text = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {value}" if labels else f"{name} {value}")
        names = sorted({name for name, _ in self.counters})
        header = [f"# TYPE {name} counter" for name in names]
        gauges = [line for name, read in sorted(self.gauges.items())
                  for line in (f"# TYPE {name} gauge", f"{name} {read()}")]
        return "\n".join(header + lines + gauges) + "\n"
