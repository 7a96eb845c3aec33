# ruff: noqa: E501  (long user-agent strings and SQL expressions read better unwrapped)
"""Realistic raw events generated inside ClickHouse (INSERT ... SELECT FROM numbers()), fast at 10M rows.

Shape: sessions of ~5 events (the first a pageview that carries the referrer and UTM tags), spread over
the last 29 days with a day/night curve; 3 in 10 visitors consented (stable id across sessions), the
rest anonymous (daily hash, session = visitor); Zipf-like pages, sources, countries and browsers.
"""

from __future__ import annotations

# Per-visitor attributes come from a hash of the session key `v` (stable within a session); per-event
# ones from a hash of the row number `n`. u(x, salt) is a uniform in [0, 1).
_U = "(cityHash64({x}, '{salt}') % 1000000) / 1000000.0"


def u(x: str, salt: str) -> str:
    return _U.format(x=x, salt=salt)


def _pick(values: list[str], uniform: str, skew: float) -> str:
    """A skewed choice: element 1 is the most frequent (uniform ** skew concentrates near 0)."""
    items = ", ".join(f"'{v}'" for v in values)
    return f"[{items}][1 + toUInt32(floor(pow({uniform}, {skew}) * {len(values)}))]"


SECTIONS = ["blog", "docs", "pricing", "about", "news", "guides", "products", "careers"]
REFERRERS = ["", "", "", "", "", "google.com", "google.com", "google.com", "bing.com", "duckduckgo.com",
             "news.ycombinator.com", "t.co", "reddit.com", "linkedin.com", "github.com", "facebook.com",
             "instagram.com", "youtube.com", "stackoverflow.com", "medium.com", "dev.to", "ecosia.org"]
COUNTRIES = ["US", "DE", "GB", "FR", "IN", "CA", "NL", "BR", "ES", "IT", "PL", "SE", "AU", "JP", "CH", "AT",
             "BE", "DK", "FI", "NO", "IE", "PT", "CZ", "RO", "MX", "AR", "TR", "UA", "IL", "SG", "KR", "ZA"]
# (browser, OS, device), most frequent first.
TECH = ["('Chrome', 'Windows', 'desktop')", "('Mobile Safari', 'iOS', 'mobile')", "('Chrome Mobile', 'Android', 'mobile')",
        "('Safari', 'Mac OS X', 'desktop')", "('Edge', 'Windows', 'desktop')", "('Chrome', 'Mac OS X', 'desktop')",
        "('Firefox', 'Windows', 'desktop')", "('Samsung Internet', 'Android', 'mobile')",
        "('Mobile Safari', 'iOS', 'tablet')", "('Chrome Mobile iOS', 'iOS', 'mobile')", "('Firefox', 'Linux', 'desktop')",
        "('Chrome', 'Chrome OS', 'desktop')"]
TYPES = "multiIf(k = 0 OR e < 0.50, 'pageview', e < 0.70, 'engagement', e < 0.78, 'click', e < 0.85, 'vital', " \
        "e < 0.90, 'custom', e < 0.92, 'error', e < 0.95, 'form', e < 0.96, 'exposure', 'pageview')"


# The columns events_select gives, by position: all but the store time, which the store fills in.
INSERT = "INSERT INTO analytics.events (* EXCEPT (inserted))"


def events_select(rows: int, offset: int = 0) -> str:
    """SELECT of `rows` events for analytics.events, in its column order."""
    return f"""
SELECT
    site, ts, type,
    multiIf(type = 'custom', ['signup', 'newsletter', 'share', 'play_video'][1 + n % 4],
            type = 'vital', ['LCP', 'CLS', 'INP', 'FCP', 'TTFB'][1 + n % 5],
            type = 'click', ['heatmap', 'heatmap', 'heatmap', 'outbound', 'download'][1 + n % 5],
            type = 'form', ['focus', 'change', 'submit', 'abandon'][1 + n % 4],
            type = 'exposure', 'hero-copy', '') AS name,
    host, path,
    if(k = 0 AND hv < 0.08, 'newsletter', if(k = 0 AND hv < 0.11, 'twitter', '')) AS utm_source,
    if(k = 0 AND hv < 0.08, 'email', if(k = 0 AND hv < 0.11, 'social', '')) AS utm_medium,
    if(k = 0 AND hv < 0.08, concat('week-', toString(toISOWeek(ts))), if(k = 0 AND hv < 0.11, 'launch', '')) AS utm_campaign,
    '' AS utm_content, '' AS utm_term,
    if(k = 0 AND hv > 0.97, map('ref', concat('partner', toString(n % 9))), map()) AS params,
    if(type = 'pageview' AND k = 0, {_pick(REFERRERS, u('v', 'ref'), 1.6)}, '') AS referrer_host,
    if(type = 'pageview' AND k > 0, {path_expr("n - 1")}, '') AS referrer_path,
    country, if(gv < 0.9, concat(country, '-', toString(1 + toUInt32(gv * 100) % 12)), '') AS region,
    if(gv < 0.8, concat('City ', country, toString(toUInt32(pow(gv, 2) * 60))), '') AS city,
    if(gv < 0.8, toUInt32(cityHash64(country, toUInt32(pow(gv, 2) * 60)) % 12000000), 0) AS city_geoname_id,
    tech.1 AS browser,
    toString(128 + toUInt32(pow({u('v', 'bv')}, 3) * 4)) AS browser_version,
    tech.2 AS os, toString(10 + toUInt32({u('v', 'ov')} * 8)) AS os_version, tech.3 AS device,
    tier, visitor_id, if(tier = 'full', cityHash64('sid', v), visitor_id) AS session_id,
    if(type = 'click' AND name = 'heatmap', round({u('n', 'x')}, 3), 0) AS x,
    if(type = 'click' AND name = 'heatmap', round({u('n', 'y')}, 3), 0) AS y,
    if(type = 'click' AND name = 'heatmap', ['a', 'button', 'div', 'img'][1 + n % 4], '') AS tag,
    multiIf(type = 'click' AND name = 'outbound', ['github.com', 'twitter.com', 'docs.python.org'][1 + n % 3],
            type = 'error', 'cdn.bench.example', '') AS target_host,
    if(type = 'click' AND name = 'download', ['pdf', 'zip', 'csv'][1 + n % 3], '') AS file_ext,
    if(type = 'engagement', toUInt32(exp(8 + 3 * {u('n', 'eng')})), 0) AS engaged_ms,
    if(type = 'engagement', toUInt8(100 * {u('n', 'scr')}), 0) AS scroll_pct,
    if(type = 'vital', if(name = 'CLS', round({u('n', 'val')} * 0.3, 3), round(exp(5.5 + 2 * {u('n', 'val')}))), 0) AS value,
    if(type = 'form', 'signup', '') AS form_id, if(type = 'form', ['email', 'name', ''][1 + n % 3], '') AS field,
    if(type = 'exposure', ['a', 'b'][1 + n % 2], '') AS variant,
    if(type = 'error', concat('TypeError: cannot read properties of undefined (reading ''x', toString(n % 20), ''')'), '') AS message,
    if(type = 'custom', map('plan', ['free', 'pro', 'team'][1 + n % 3], 'position', toString(1 + n % 5)), map()) AS props,
    30 AS retention_days, 1098 AS rollup_retention_days,
    if(type = 'click' AND name = 'heatmap', [390, 768, 1280, 1440, 1920][1 + toUInt32(floor(pow({u('v', 'w')}, 1.5) * 5))], 0) AS viewport_width
FROM
(
    SELECT n, v, k, e, hv, gv, ts, site, host, country, tier, {TYPES} AS type,
        [{", ".join(TECH)}][1 + toUInt32(floor(pow({u('v', 'tech')}, 1.8) * {len(TECH)}))] AS tech,
        {path_expr("n")} AS path,
        if(tier = 'full', cityHash64('vid', site, intDiv(v, 3)), cityHash64('anon', site, v, toDate(ts))) AS visitor_id
    FROM
    (
        SELECT number + {offset} AS n, intDiv(n, 5) AS v, n % 5 AS k,
            {u('n', 'e')} AS e, {u('v', 'h')} AS hv, pow({u('v', 'g')}, 1.0) AS gv,
            -- Sessions start over the last 29 days, more by day than by night (UTC); events follow ~40 s apart.
            toDateTime(toStartOfDay(now()) - toIntervalDay(toUInt32({u('v', 'day')} * 29)))
                + toIntervalSecond(toUInt32(86400 * (0.25 + 0.75 * {u('v', 'hour')}))) + toIntervalSecond(k * 40 + n % 17) AS ts,
            multiIf(hv < 0.8, 'bench.example', hv < 0.93, 'shop.example', 'docs.example') AS site,
            site AS host,
            {_pick(COUNTRIES, u('v', 'c'), 2.2)} AS country,
            if({u('v', 't')} < 0.3, 'full', 'anonymous') AS tier
        FROM numbers({rows})
    )
)
"""


def path_expr(n: str) -> str:
    section = _pick(SECTIONS, u(n, "sec"), 2.0)
    return f"if({u(n, 'root')} < 0.12, '/', concat('/', {section}, '/', toString(toUInt32(pow({u(n, 'p')}, 3) * 400)), '-post'))"
