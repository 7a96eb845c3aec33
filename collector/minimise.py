"""Data minimisation of URLs and referrers: keep what a report needs, cut everything else."""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl, urlsplit

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_MAX_PARAM_VALUE = 200


@functools.lru_cache(maxsize=4096)  # Origin headers repeat; the cache is bounded, whatever clients send
def host_of(url: str) -> str:
    """Lower-case host of a URL ("?" when it cannot be parsed), e.g. of an Origin or Referer header."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return "?"


def split_page(url: str, allowed: tuple[str, ...], keep_fragment: bool) -> tuple[str, str, list[str], dict[str, str]]:
    """(host, path, [utm values in UTM order], {allow-listed param: value}) of a page URL.

    Every query parameter that is neither utm_* nor on the site's allow-list is dropped here,
    so e-mail addresses, tokens and ids in query strings never reach storage.
    """
    parts = urlsplit(url)
    path = parts.path or "/"
    if keep_fragment and parts.fragment:
        path = f"{path}#{parts.fragment.split('?', 1)[0]}"
    utm = ["", "", "", "", ""]
    params: dict[str, str] = {}
    if parts.query:
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            value = value[:_MAX_PARAM_VALUE]
            if key in UTM:
                utm[UTM.index(key)] = value
            elif key in allowed:
                params[key] = value
    return (parts.hostname or ""), path, utm, params


def split_referrer(referrer: str, page_host: str) -> tuple[str, str]:
    """(external host, internal path): an external referrer keeps its host only, an internal one
    (same host as the page) its path only. Never a query string."""
    if not referrer:
        return "", ""
    parts = urlsplit(referrer)
    host = (parts.hostname or "").lower()
    if host == page_host.lower():
        return "", parts.path or "/"
    return host.removeprefix("www."), ""
