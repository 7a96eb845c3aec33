-- Views and visitors per page and day, ordered by page before day: a top-10 list merges the sketches of its
-- 10 pages and, with small granules, reads little but their rows (pages_daily, ordered by day, has to read
-- the sketch of every page of the range). Compact uniqCombined64(12) sketches, as in site_daily.
-- No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.top_pages_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    path LowCardinality(String) COMMENT 'Page path | Top pages | all',
    day Date COMMENT 'UTC day | Time series | all',
    host LowCardinality(String) COMMENT 'Page host name | Sites served on several hosts | all',
    views SimpleAggregateFunction(sum, UInt64) COMMENT 'Page views | Traffic volume | all',
    visitors AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors per page on the dashboard, mergeable across days | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, path, day, host)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
-- Granules of 256 rows: the rows of one page share a few granules with few other pages' sketches.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1, index_granularity = 256
COMMENT 'Views and visitors per page and day, ordered by page (dashboard top pages)'
