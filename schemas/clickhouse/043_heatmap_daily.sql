-- Heatmap clicks per page, day, viewport width bucket and grid cell: x in 20 cells (5 % of the page
-- width each), y in 50 cells (2 % of the page height each). No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.heatmap_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    path String CODEC(ZSTD(1)) COMMENT 'Page path | Heatmap per page | all',
    width UInt16 COMMENT 'Viewport width bucket, its lower bound in CSS pixels (0: not sent) | Heatmaps per layout | all',
    x_cell UInt8 COMMENT 'Column of the grid, 0..19, each 5 % of the page width | Heatmap cell | all',
    y_cell UInt8 COMMENT 'Row of the grid, 0..49, each 2 % of the page height | Heatmap cell | all',
    clicks SimpleAggregateFunction(sum, UInt64) COMMENT 'Clicks in the cell | Heatmap intensity | all',
    visitors AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct visitor ids; ids cannot be read back from it | Small cells are hidden below the site threshold | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, path, day, width, y_cell, x_cell)
-- Rollups hold no identifiers (only sketches and counts): kept for the site rollup retention, years by default.
TTL day + toIntervalDay(retention_days)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Heatmap clicks per page, viewport width bucket and grid cell'
