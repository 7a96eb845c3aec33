"""The row the writer inserts into analytics.events. The column list exists once, here; a test
checks it against the DDL the engine reports."""

from __future__ import annotations

from typing import Any

from .event import Event

COLUMNS: tuple[str, ...] = (
    "site", "ts", "type", "name", "host", "path",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "params",
    "referrer_host", "referrer_path", "country", "region", "city", "city_geoname_id",
    "browser", "browser_version", "os", "os_version", "device",
    "tier", "visitor_id", "session_id",
    "x", "y", "tag", "target_host", "file_ext", "engaged_ms", "scroll_pct", "value",
    "form_id", "field", "variant", "message", "props", "retention_days", "rollup_retention_days",
    "viewport_width",
)

# The event field that fills the `name` column, per type.
_NAME_FIELD = {"custom": "name", "vital": "name", "click": "kind", "form": "action",
               "exposure": "experiment", "consent": "action"}


def _props(props: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else ("true" if v is True else "false" if v is False else str(v))
            for k, v in props.items()}


def to_row(event: Event, ctx: object) -> Event:
    """Last pipeline step: the event as a list of values in COLUMNS order."""
    if event.row is not None:  # already built for another table (a consent receipt)
        return event
    d = event.data
    policy = event.policy
    country, region, city, geoname_id = event.geo
    browser, browser_version, os, os_version, device = event.ua
    event.row = [
        event.site, event.ts_ms // 1000, event.type, d.get(_NAME_FIELD.get(event.type, ""), ""),
        event.host, event.path, *event.utm, event.params,
        event.referrer_host, event.referrer_path, country, region, city, geoname_id,
        browser, browser_version, os, os_version, device,
        event.tier.value, event.visitor_id, event.session_id,
        d.get("x", 0.0), d.get("y", 0.0), d.get("tag", ""), d.get("link") or d.get("source", ""),
        d.get("file", ""), d.get("engaged_ms", 0), d.get("scroll", 0), d.get("value", 0.0),
        d.get("form", ""), d.get("field", ""), d.get("variant", ""), d.get("message", ""),
        _props(d["props"]), policy.retention_days, policy.rollup_retention_days,
        int(d.get("w", 0)),  # JSON Schema calls 1280.0 an integer; the UInt16 column does not
    ]
    return event
