-- Web vital quantiles per page. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.vitals_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    path String CODEC(ZSTD(1)) COMMENT 'Page path | Page speed per page | all',
    name LowCardinality(String) COMMENT 'Vital metric (LCP, CLS, INP, FCP, TTFB) | Page speed | all',
    samples SimpleAggregateFunction(sum, UInt64) COMMENT 'Number of measurements | Page speed | all',
    value AggregateFunction(quantiles(0.5, 0.75, 0.95), Float32) COMMENT 'Quantile sketch of the metric | p50/p75/p95 page speed | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, path, name)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Web vital quantiles per page'
