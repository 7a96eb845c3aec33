-- Page views and visitors by browser, OS and device class. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.technology_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    browser LowCardinality(String) COMMENT 'Browser family | Technology support | all',
    browser_version LowCardinality(String) COMMENT 'Browser major version | Technology support | all',
    os LowCardinality(String) COMMENT 'Operating system family | Technology support | all',
    os_version LowCardinality(String) COMMENT 'Operating system major version | Technology support | all',
    device LowCardinality(String) COMMENT 'Device class | Technology support | all',
    views SimpleAggregateFunction(sum, UInt64) COMMENT 'Page views | Traffic volume | all',
    visitors AggregateFunction(uniqCombined64, UInt64) COMMENT 'Sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors, mergeable across days | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, browser, browser_version, os, os_version, device)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Page views and visitors by browser, OS and device class'
