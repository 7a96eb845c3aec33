-- Counts and visitors per event type and name (custom events, clicks, forms, errors, exposures). No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.events_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    type LowCardinality(String) COMMENT 'Event type | What happened | all',
    name LowCardinality(String) COMMENT 'Event name, click kind, form action or experiment key | Conversions and goals | all',
    variant LowCardinality(String) COMMENT 'Experiment variant | A/B test results | all',
    events SimpleAggregateFunction(sum, UInt64) COMMENT 'Number of events | Conversions and goals | all',
    visitors AggregateFunction(uniqCombined64, UInt64) COMMENT 'Sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors, mergeable across days | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, type, name, variant)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Counts and visitors per event type and name (custom events, clicks, forms, errors, exposures)'
