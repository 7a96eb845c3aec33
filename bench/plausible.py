"""Plausible Analytics' raw events table, `events_v2`, as its published ClickHouse migrations define it.

Sources (github.com/plausible/analytics):
- priv/data_migrations/NumericIDs/sql/create-events-v2.sql.eex — the table: columns, types, codecs,
  PARTITION BY, PRIMARY KEY, ORDER BY, SAMPLE BY, index_granularity 8192;
- priv/ingest_repo/migrations/20230417104025_add_revenue_to_events.exs — revenue_* columns;
- priv/ingest_repo/migrations/20240220123656_create_sessions_events_compression_options.exs —
  hostname, meta.key, meta.value ZSTD(3);
- priv/ingest_repo/migrations/20240221083040_create_events_v2_session_columns.exs — session_* columns;
- priv/ingest_repo/migrations/20240305085310_events_sessions_columns_improved.exs — referrer, source and
  utm_* ZSTD(3), transferred_from dropped;
- priv/ingest_repo/migrations/20241028142653_add_scroll_depth_to_events.exs — scroll_depth;
- priv/ingest_repo/migrations/20250219093806_events_engagement_time.exs — engagement_time.
Later materialized columns (acquisition channel, click-id params) are derived at insert time and left
out; they would only add to Plausible's side.
"""

from __future__ import annotations

DDL = """
CREATE TABLE IF NOT EXISTS plausible.events_v2
(
    `timestamp` DateTime CODEC(Delta(4), LZ4),
    `name` LowCardinality(String),
    `site_id` UInt64,
    `user_id` UInt64,
    `session_id` UInt64,
    `hostname` String CODEC(ZSTD(3)),
    `pathname` String CODEC(ZSTD(3)),
    `referrer` String CODEC(ZSTD(3)),
    `referrer_source` String CODEC(ZSTD(3)),
    `country_code` FixedString(2),
    `screen_size` LowCardinality(String),
    `operating_system` LowCardinality(String),
    `browser` LowCardinality(String),
    `utm_medium` String CODEC(ZSTD(3)),
    `utm_source` String CODEC(ZSTD(3)),
    `utm_campaign` String CODEC(ZSTD(3)),
    `meta.key` Array(String) CODEC(ZSTD(3)),
    `meta.value` Array(String) CODEC(ZSTD(3)),
    `browser_version` LowCardinality(String),
    `operating_system_version` LowCardinality(String),
    `subdivision1_code` LowCardinality(String),
    `subdivision2_code` LowCardinality(String),
    `city_geoname_id` UInt32,
    `utm_content` String CODEC(ZSTD(3)),
    `utm_term` String CODEC(ZSTD(3)),
    `revenue_reporting_amount` Decimal64(4),
    `revenue_reporting_currency` FixedString(3),
    `revenue_source_amount` Decimal64(4),
    `revenue_source_currency` FixedString(3),
    `session_referrer` String CODEC(ZSTD(3)),
    `session_referrer_source` String CODEC(ZSTD(3)),
    `session_utm_medium` String CODEC(ZSTD(3)),
    `session_utm_source` String CODEC(ZSTD(3)),
    `session_utm_campaign` String CODEC(ZSTD(3)),
    `session_utm_content` String CODEC(ZSTD(3)),
    `session_utm_term` String CODEC(ZSTD(3)),
    `session_country_code` LowCardinality(FixedString(2)),
    `session_subdivision1_code` LowCardinality(String),
    `session_subdivision2_code` LowCardinality(String),
    `session_city_geoname_id` UInt64,
    `session_screen_size` LowCardinality(String),
    `session_operating_system` LowCardinality(String),
    `session_operating_system_version` LowCardinality(String),
    `session_browser` LowCardinality(String),
    `session_browser_version` LowCardinality(String),
    `scroll_depth` UInt8,
    `engagement_time` UInt32
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
PRIMARY KEY (site_id, toDate(timestamp), name, user_id)
ORDER BY (site_id, toDate(timestamp), name, user_id, timestamp)
SAMPLE BY user_id
SETTINGS index_granularity = 8192
"""

# The same events, mapped onto Plausible's columns. Fields Plausible has no column for (click position,
# element, link host, file, vital value, form, variant, error message) go where Plausible puts custom
# data: the meta.key/meta.value arrays. The session_* columns hold the session's entry values; our
# generated sessions have one source, so they are the event's own. Plausible stores the referrer URL;
# ours keeps the host only, and the same host fills both columns.
LOAD = """
INSERT INTO plausible.events_v2
SELECT
    ts AS timestamp,
    if(type IN ('pageview', 'engagement') OR name = '', type, name) AS name,
    cityHash64(site) % 100000 AS site_id,
    visitor_id AS user_id, session_id, host AS hostname, path AS pathname,
    if(referrer_host != '', referrer_host, referrer_path) AS referrer, referrer_host AS referrer_source,
    toFixedString(country, 2) AS country_code, device AS screen_size, os AS operating_system, browser,
    utm_medium, utm_source, utm_campaign,
    arrayConcat(mapKeys(props), arrayFilter((k, v) -> v != '', extra_keys, extra_values)) AS `meta.key`,
    arrayConcat(mapValues(props), arrayFilter(v -> v != '', extra_values)) AS `meta.value`,
    browser_version, os_version AS operating_system_version, region AS subdivision1_code,
    '' AS subdivision2_code, city_geoname_id, utm_content, utm_term,
    0, '', 0, '',
    referrer AS session_referrer, referrer_source AS session_referrer_source,
    utm_medium AS session_utm_medium, utm_source AS session_utm_source, utm_campaign AS session_utm_campaign,
    utm_content AS session_utm_content, utm_term AS session_utm_term, country_code AS session_country_code,
    region AS session_subdivision1_code, '' AS session_subdivision2_code,
    city_geoname_id AS session_city_geoname_id, device AS session_screen_size, os AS session_operating_system,
    os_version AS session_operating_system_version, browser AS session_browser,
    browser_version AS session_browser_version,
    scroll_pct AS scroll_depth, engaged_ms AS engagement_time
FROM
(
    SELECT *,
        ['x', 'y', 'tag', 'link', 'file', 'value', 'form', 'field', 'variant', 'message'] AS extra_keys,
        [if(x != 0, toString(x), ''), if(y != 0, toString(y), ''), tag, target_host, file_ext,
         if(value != 0, toString(value), ''), form_id, field, variant, message] AS extra_values
    FROM analytics.events
)
"""
