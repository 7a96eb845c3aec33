-- Views, visitors and visits per site and day: a dashboard's totals and daily series read one row per day.
-- Sketches are uniqCombined64(12): about 1.6 % error (exact below a few hundred ids), and small enough that
-- a month of them merges in about a millisecond. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.site_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    views SimpleAggregateFunction(sum, UInt64) COMMENT 'Page views | Traffic volume | all',
    visitors AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors on the dashboard, mergeable across days | all',
    visits AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct session ids; ids cannot be read back from it | Visits on the dashboard, mergeable across days | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Views, visitors and visits per site and day (dashboard totals and time series)'
