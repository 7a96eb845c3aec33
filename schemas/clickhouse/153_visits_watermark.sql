-- How far the visits closer has come: every raw row of the site stored up to `watermark_ms` is in
-- analytics.visits_open for the days from `open_from` on. Reads sessionise at query time only the visitors
-- with rows stored after it. The greatest watermark wins, so a slower second closer never moves it back.
CREATE TABLE IF NOT EXISTS analytics.visits_watermark
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    watermark_ms UInt64 COMMENT 'Store time (ms) up to which every raw row is in analytics.visits_open | Bounds what reads sessionise | all',
    open_from Date COMMENT 'First day that round kept current in analytics.visits_open | Days before it are read otherwise | all',
    written DateTime DEFAULT now() COMMENT 'When the round finished | Operations | all'
)
ENGINE = ReplacingMergeTree(watermark_ms)
ORDER BY site
-- A round rewrites it every minute or so; without one for a day, reads sessionise the open days from raw rows.
TTL written + toIntervalDay(1)
SETTINGS fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Progress of the incremental visits closer, per site'
