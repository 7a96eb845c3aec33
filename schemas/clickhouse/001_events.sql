-- Raw events: one row per accepted event, after the privacy pipeline. No IP, no user agent string,
-- no full URL or query, no coordinates ever reach this table (tests check system.columns).
-- Column comments are "what | why | consent tiers": the privacy inventory is generated from them.
CREATE TABLE IF NOT EXISTS analytics.events
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    ts DateTime CODEC(Delta, ZSTD(1)) COMMENT 'Event time, to the second | Time series and retention | all',
    type LowCardinality(String) COMMENT 'Event type (pageview, click, engagement, ...) | What happened | all',
    name LowCardinality(String) COMMENT 'Custom event name, vital metric, click kind, form action or experiment key | Names the event | all',
    host LowCardinality(String) COMMENT 'Page host name | Sites served on several hosts | all',
    path String CODEC(ZSTD(1)) COMMENT 'Page path without query string (fragment only for hash-routed sites) | Which pages are read | all',
    utm_source LowCardinality(String) COMMENT 'utm_source campaign parameter | Attribution of campaigns | all',
    utm_medium LowCardinality(String) COMMENT 'utm_medium campaign parameter | Attribution of campaigns | all',
    utm_campaign LowCardinality(String) COMMENT 'utm_campaign campaign parameter | Attribution of campaigns | all',
    utm_content LowCardinality(String) COMMENT 'utm_content campaign parameter | Attribution of campaigns | all',
    utm_term LowCardinality(String) COMMENT 'utm_term campaign parameter | Attribution of campaigns | all',
    params Map(LowCardinality(String), String) COMMENT 'Query parameters the site allow-listed, nothing else | Site-specific attribution | all',
    referrer_host LowCardinality(String) COMMENT 'Host of an external referrer, never its path or query | Traffic sources | all',
    referrer_path String CODEC(ZSTD(1)) COMMENT 'Path of an internal referrer (previous page on the same site) | Navigation flows | all',
    country LowCardinality(String) COMMENT 'Country ISO code derived from the IP address, which is then discarded | Audience by country | all',
    region LowCardinality(String) COMMENT 'Subdivision ISO code (e.g. US-CA) unless the site stores country only | Audience by region | all',
    city LowCardinality(String) COMMENT 'City name unless the site stores region or country only | Audience by city | all',
    city_geoname_id UInt32 CODEC(ZSTD(1)) COMMENT 'GeoNames id of the city, 0 when not stored | Unambiguous city for maps | all',
    browser LowCardinality(String) COMMENT 'Browser family from the user agent, which is then discarded | Technology support | all',
    browser_version LowCardinality(String) COMMENT 'Browser major version | Technology support | all',
    os LowCardinality(String) COMMENT 'Operating system family | Technology support | all',
    os_version LowCardinality(String) COMMENT 'Operating system major version | Technology support | all',
    device LowCardinality(String) COMMENT 'Device class: desktop, mobile or tablet | Technology support | all',
    tier Enum8('anonymous' = 1, 'full' = 2) COMMENT 'Consent tier the event was stored under | Proves which rules applied | all',
    visitor_id UInt64 CODEC(ZSTD(1)) COMMENT 'Pseudonymous visitor id: HMAC of the consented first-party id (full), or a hash with a daily salt that is destroyed after two days (anonymous) | Unique visitors; data-subject access and erasure (full) | all',
    session_id UInt64 CODEC(ZSTD(1)) COMMENT 'Pseudonymous session id: HMAC of the tracker session id (full), the daily visitor hash (anonymous) | Visits and bounce rate | all',
    x Float32 CODEC(ZSTD(1)) COMMENT 'Click x as a fraction of the page width | Heatmaps | all',
    y Float32 CODEC(ZSTD(1)) COMMENT 'Click y as a fraction of the page height | Heatmaps | all',
    tag LowCardinality(String) COMMENT 'Tag name of the clicked element | Heatmaps | all',
    target_host LowCardinality(String) COMMENT 'Host of an outbound link or of the script that raised an error | Outbound links, error sources | all',
    file_ext LowCardinality(String) COMMENT 'File extension of a downloaded file | Downloads | all',
    engaged_ms UInt32 CODEC(T64, ZSTD(1)) COMMENT 'Milliseconds the page was visible and in use | Engagement time | all',
    scroll_pct UInt8 COMMENT 'Maximum scroll depth in percent | Scroll depth | all',
    value Float32 CODEC(ZSTD(1)) COMMENT 'Web vital value (ms, or unitless for CLS) | Page speed | all',
    form_id LowCardinality(String) COMMENT 'Form id or name, never any value typed into it | Form completion | all',
    field LowCardinality(String) COMMENT 'Form field name, never its value | Form completion | all',
    variant LowCardinality(String) COMMENT 'Experiment variant or feature-flag value shown | A/B tests | all',
    message String CODEC(ZSTD(1)) COMMENT 'Error message, at most 200 characters | Fixing broken pages | all',
    props Map(LowCardinality(String), String) COMMENT 'Custom properties sent by the site, at most 30 flat keys | Site-defined breakdowns | all',
    retention_days UInt16 COMMENT 'Days this row is kept: the site raw retention at insert time | Per-site retention | all',
    rollup_retention_days UInt16 COMMENT 'Days the rollup rows fed by this row are kept | Per-site retention of aggregates | all'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (site, toDate(ts), visitor_id, ts)
-- Raw events are deleted after the site's raw retention (privacy-first default 30 days).
TTL ts + toIntervalDay(retention_days)
-- The dedup window makes a retried batch (same insert_deduplication_token) a no-op.
-- Erasure (withdrawal, data-subject delete, purge) rewrites parts; the superseded parts still hold the
-- erased rows, so they leave the disk within seconds instead of the engine default of 8 minutes.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1, ttl_only_drop_parts = 0,
    old_parts_lifetime = 5, cleanup_delay_period = 1, max_cleanup_delay_period = 5, cleanup_delay_period_random_add = 1
COMMENT 'Raw events after the privacy pipeline, kept for the site raw retention'
