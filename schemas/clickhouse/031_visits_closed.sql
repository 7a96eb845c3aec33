-- The days whose visits are final and in the visit rollups, one row per site and day, written by the
-- sessioniser after the day's visits. Reads take closed days from the rollups and the rest from raw events.
CREATE TABLE IF NOT EXISTS analytics.visits_closed
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day whose visits are in the visit rollups | Tells reads which days the rollups answer | all',
    visit_count UInt64 COMMENT 'Visits written for the day | Checks the rollups against the sessioniser | all',
    retention_days UInt16 COMMENT 'Days this row is kept: the site rollup retention | Lives as long as the rollup rows it vouches for | all'
)
ENGINE = ReplacingMergeTree
ORDER BY (site, day)
-- A marker for rollup rows: kept exactly as long as they are.
TTL day + toIntervalDay(retention_days)
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Days whose visits the sessioniser has written to the visit rollups'
