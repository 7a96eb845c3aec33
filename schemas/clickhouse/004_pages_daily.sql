-- Views, visitors and engagement per page and day. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.pages_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    host LowCardinality(String) COMMENT 'Page host name | Sites served on several hosts | all',
    path String CODEC(ZSTD(1)) COMMENT 'Page path | Top pages | all',
    views SimpleAggregateFunction(sum, UInt64) COMMENT 'Page views | Traffic volume | all',
    visitors AggregateFunction(uniqCombined64, UInt64) COMMENT 'Sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors, mergeable across days | all',
    engaged_ms SimpleAggregateFunction(sum, UInt64) COMMENT 'Total engaged time in ms | Engagement time per page | all',
    engagements SimpleAggregateFunction(sum, UInt64) COMMENT 'Number of engagement reports | Average engagement time | all',
    scroll_pct_sum SimpleAggregateFunction(sum, UInt64) COMMENT 'Sum of maximum scroll depths | Average scroll depth | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, host, path)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Views, visitors and engagement per page and day'
