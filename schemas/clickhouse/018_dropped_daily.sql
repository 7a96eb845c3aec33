-- Events that were not stored, counted per site, day and reason (bots, unknown sites, consent denied, ...).
-- Written by the collector itself, not by a view: dropped events never reach the raw table.
CREATE TABLE IF NOT EXISTS analytics.dropped_daily
(
    site LowCardinality(String) COMMENT 'Site id, empty when the site is unknown | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    reason LowCardinality(String) COMMENT 'Why the events were not stored | Shows what the collector suppressed | all',
    events SimpleAggregateFunction(sum, UInt64) COMMENT 'Number of events | Shows what the collector suppressed | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, reason)
-- Counts hold nothing about visitors: kept as long as the rollups they explain.
TTL day + toIntervalDay(retention_days)
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Per-site, per-day counts of dropped and suppressed events by reason'
