"""User agents → browser/OS/device; bots recognised. Regression user agents are kept as data."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.agents import BOT, AgentCache, BotList, bot_kind, classify, is_bot, js_to_python

CASES = [line.split("\t") for line in (Path(__file__).parent / "data" / "user_agents.tsv").read_text().splitlines()
         if not line.startswith("#")]


@pytest.mark.parametrize(("ua", "expected"), CASES, ids=[c[0][:50] or "empty" for c in CASES])
def test_classify(ua: str, expected: str) -> None:
    agent = classify(ua)
    assert is_bot(agent) if expected == "bot" else agent == tuple(expected.split(","))


def test_overlong_user_agent_is_a_bot() -> None:
    assert classify("Mozilla/5.0 " + "x" * 2000) == BOT


def test_cache_returns_the_same_answer() -> None:
    cache = AgentCache()
    ua = CASES[0][0]
    assert cache.classify(ua) is cache.classify(ua) == classify(ua)


@pytest.mark.parametrize(("ua", "family", "category"), [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Google", "search"),
    ("Mediapartners-Google", "Google", "search"),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
     "OpenAI", "ai"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
     "Headless browser", "headless"),
    ("ApacheBench/2.3", "HTTP library", "library"),
    ("Amazon Route 53 Health Check Service; ref:c97cd53f-2272-49d6-a8cd-3cd658d9d020;", "Monitor", "monitor"),
    ("", "No user agent", "empty"),
])
def test_a_bot_is_described_by_a_closed_set_family_and_category(ua: str, family: str, category: str) -> None:
    assert classify(ua) == ("bot", family, category, "", "bot")


def test_the_breakdown_never_carries_text_of_the_user_agent() -> None:
    """Family and category come from the module's table: an invented bot name is 'Other'."""
    assert bot_kind("zorbluxbot/1.0 (+https://zorblux.example)") == ("Other", "other")


def test_every_pattern_of_the_vendored_list_compiles_in_python() -> None:
    bots = BotList()
    assert bots.size > 150 and bots.version
    assert bots.matches("mozilla/5.0 (compatible; googlebot/2.1)")


def test_javascript_only_regex_forms_are_translated() -> None:
    assert js_to_python("(?<! channel/|google/)google") == "(?<! channel/)(?<!google/)google"
    assert js_to_python(r"[\w\d-.]") == r"[\w\d\-.]"
