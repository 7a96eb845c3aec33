-- Each site's small-cell threshold, written by the collector from the sites config at every start, so
-- that the suppressed views of the read role (analytics.read_*) apply the same k as the stats API.
CREATE TABLE IF NOT EXISTS analytics.site_privacy
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    small_cell_threshold UInt32 COMMENT 'Rows describing fewer distinct visitors than this are folded or hidden | Anonymous aggregates | all',
    updated_at DateTime COMMENT 'When the collector last wrote the setting | The newest setting wins | all',
    retention_days UInt16 COMMENT 'Days this row is kept: the site rollup retention | Outlives nothing it protects | all'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY site
-- Rewritten at every start; kept as long as the rollups it protects.
TTL updated_at + toIntervalDay(retention_days)
SETTINGS fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Small-cell threshold per site, for the suppressed views'
