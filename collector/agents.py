"""User agent → browser family + major, OS family + major, device class; bots recognised.

Only these five values leave this module; the user agent string itself is never stored or logged.
"""

from __future__ import annotations

import re

from ua_parser import parse

Agent = tuple[str, str, str, str, str]  # browser, browser major, OS, OS major, device class
BOT: Agent = ("bot", "", "", "", "bot")
_CACHE_MAX = 50_000
# Crawlers, monitors, HTTP libraries and headless browsers that ua-parser does not flag as "Spider".
_BOTLIKE = re.compile(
    r"bot|crawl|spider|slurp|headless|lighthouse|phantomjs|preview|monitor|scan|curl|wget|python|"
    r"java/|go-http|okhttp|axios|node-fetch|httpclient|libwww|feedfetcher|facebookexternalhit",
    re.IGNORECASE,
)
_TABLET = re.compile(r"ipad|tablet|kindle|silk|playbook|sm-[tpx]\d", re.IGNORECASE)


def _device(ua: str, os_family: str) -> str:
    if _TABLET.search(ua) or (os_family == "Android" and "Mobile" not in ua):
        return "tablet"
    if "Mobi" in ua or os_family in ("iOS", "Android"):
        return "mobile"
    return "desktop"


def classify(ua: str) -> Agent:
    """Parse one user agent; an empty or bot-like one is BOT."""
    if not ua or len(ua) > 1000 or _BOTLIKE.search(ua):
        return BOT
    result = parse(ua)
    if result.device is not None and result.device.family == "Spider":
        return BOT
    browser = result.user_agent
    os = result.os
    os_family = os.family if os else ""
    return (
        browser.family if browser else "Other", (browser.major or "") if browser else "",
        os_family or "Other", (os.major or "") if os else "", _device(ua, os_family),
    )


class AgentCache:
    """Memoises classify(): a site's visitors share few distinct user agents."""

    def __init__(self) -> None:
        self._cache: dict[str, Agent] = {}

    def classify(self, ua: str) -> Agent:
        agent = self._cache.get(ua)
        if agent is None:
            agent = classify(ua)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[ua] = agent
        return agent
