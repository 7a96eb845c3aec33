-- Each site's secret for the cell key perturbation of read answers (collector/read/cellkey.py): a reader who
-- knew it could compute the noise and take it off, so no read or analyst object selects it; only the
-- suppressed views and the stats API use it, inside their SQL. Made once per site by the collector and
-- rewritten unchanged (with a new updated_at) at every start.
CREATE TABLE IF NOT EXISTS analytics.cell_keys
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    k0 UInt64 COMMENT 'First half of the site''s random 128-bit secret | Keys the noise of read answers | all',
    k1 UInt64 COMMENT 'Second half of the site''s random 128-bit secret | Keys the noise of read answers | all',
    created_at DateTime COMMENT 'When the secret was made | The oldest secret wins when two processes race | all',
    updated_at DateTime COMMENT 'When the collector last confirmed the secret | Keeps it while the site is served | all',
    retention_days UInt16 COMMENT 'Days this row is kept: the site rollup retention | Outlives nothing it protects | all'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (site, created_at, k0, k1)
-- Kept as long as the rollups whose counts it perturbs, counted from the last start: a new secret would give
-- every count a new noise, and two noises for one count average away, so it must not change while they live.
TTL updated_at + toIntervalDay(retention_days)
SETTINGS fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Per-site secret of the cell key perturbation; never readable by read users'
