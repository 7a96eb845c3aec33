"""User agents → browser/OS/device; bots recognised. Regression user agents are kept as data."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.agents import BOT, AgentCache, classify

CASES = [line.split("\t") for line in (Path(__file__).parent / "data" / "user_agents.tsv").read_text().splitlines()
         if not line.startswith("#")]


@pytest.mark.parametrize(("ua", "expected"), CASES, ids=[c[0][:50] or "empty" for c in CASES])
def test_classify(ua: str, expected: str) -> None:
    assert classify(ua) == (BOT if expected == "bot" else tuple(expected.split(",")))


def test_overlong_user_agent_is_a_bot() -> None:
    assert classify("Mozilla/5.0 " + "x" * 2000) == BOT


def test_cache_returns_the_same_answer() -> None:
    cache = AgentCache()
    ua = CASES[0][0]
    assert cache.classify(ua) is cache.classify(ua) == classify(ua)
