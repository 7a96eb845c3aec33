-- Views and visitors per page and hour. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.pages_hourly
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    hour DateTime COMMENT 'UTC hour | Intraday charts | all',
    host LowCardinality(String) COMMENT 'Page host name | Sites served on several hosts | all',
    path String CODEC(ZSTD(1)) COMMENT 'Page path | Top pages | all',
    views SimpleAggregateFunction(sum, UInt64) COMMENT 'Page views | Traffic volume | all',
    visitors AggregateFunction(uniqCombined64, UInt64) COMMENT 'Sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors, mergeable across days | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site, hour, host, path)
-- Hourly detail serves the last month of intraday charts; the daily rollups keep the long view.
TTL hour + toIntervalDay(least(retention_days, 35))
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Views and visitors per page and hour'
