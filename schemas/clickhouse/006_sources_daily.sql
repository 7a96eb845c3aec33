-- Entry page views and visitors by traffic source and campaign. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.sources_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    referrer_host LowCardinality(String) COMMENT 'External referrer host, empty for direct traffic | Traffic sources | all',
    utm_source LowCardinality(String) COMMENT 'utm_source | Campaign attribution | all',
    utm_medium LowCardinality(String) COMMENT 'utm_medium | Campaign attribution | all',
    utm_campaign LowCardinality(String) COMMENT 'utm_campaign | Campaign attribution | all',
    views SimpleAggregateFunction(sum, UInt64) COMMENT 'Page views | Traffic volume | all',
    visitors AggregateFunction(uniqCombined64, UInt64) COMMENT 'Sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors, mergeable across days | all',
    visits AggregateFunction(uniqCombined64, UInt64) COMMENT 'Sketch of distinct session ids; ids cannot be read back from it | Visits | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, referrer_host, utm_source, utm_medium, utm_campaign)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Entry page views and visitors by traffic source and campaign'
