"""The printed table: one row per figure, with its target and whether it holds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    detail: str = ""
    holds: bool | None = None  # None: a figure without a target


def render(rows: list[Row]) -> str:
    """A Markdown table (readable in a terminal and pasteable into docs/performance.md)."""
    mark = {True: "yes", False: "NO", None: ""}
    lines = ["| figure | value | target met | detail |", "|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.value} | {mark[r.holds]} | {r.detail} |" for r in rows]
    return "\n".join(lines)
