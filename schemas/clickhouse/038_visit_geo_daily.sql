-- Visits by location, from the sessioniser (collector/visits.py) through analytics.visits: a day is written once,
-- when no late event can change it any more. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.visit_geo_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day the visit started | Time series | all',
    country LowCardinality(String) COMMENT 'Country ISO code at the start of the visit | Audience by country | all',
    region LowCardinality(String) COMMENT 'Subdivision ISO code at the start of the visit | Audience by region | all',
    city LowCardinality(String) COMMENT 'City name at the start of the visit | Audience by city | all',
    visit_count SimpleAggregateFunction(sum, UInt64) COMMENT 'Visits (30 minutes without an event ends one) | Visits and the rates derived from them | all',
    bounces SimpleAggregateFunction(sum, UInt64) COMMENT 'Visits with one pageview and no click, custom event or form interaction | Bounce rate | all',
    pageviews SimpleAggregateFunction(sum, UInt64) COMMENT 'Page views in these visits | Views per visit | all',
    events SimpleAggregateFunction(sum, UInt64) COMMENT 'Events in these visits | Activity per visit | all',
    duration_s SimpleAggregateFunction(sum, UInt64) COMMENT 'Sum of visit durations (first to last event), seconds | Average visit duration | all',
    visitors AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors per visit attribute, mergeable across days | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, country, region, city)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Fed only by the sessioniser: its per-day insert token makes a repeated or concurrent close a no-op.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Visits by the location of their first event'
