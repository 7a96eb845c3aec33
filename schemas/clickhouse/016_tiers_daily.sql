-- Events and visitors per consent tier. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.tiers_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    tier Enum8('anonymous' = 1, 'full' = 2) COMMENT 'Consent tier | Shows how many visitors consented | all',
    events SimpleAggregateFunction(sum, UInt64) COMMENT 'Number of events | Consent reporting | all',
    visitors AggregateFunction(uniqCombined64, UInt64) COMMENT 'Sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors, mergeable across days | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, tier)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Events and visitors per consent tier'
