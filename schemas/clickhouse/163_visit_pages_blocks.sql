-- Visits by entry and exit page over aligned blocks of 1, 4 and 16 days, merged from visit_pages_daily as the
-- sessioniser writes closed days (the closed-visits path of collector/visits.py). An entry-pages list of a
-- long range merges a few sketches per page instead of one per day (collector/read/blocks.py); a block is
-- read only when every day of it is closed. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.visit_pages_blocks
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    span UInt8 COMMENT 'Days in the block: 1, 4 or 16 | Picks the block size a range is split into | all',
    start Date COMMENT 'First UTC day of the block (days since 1970-01-01 divisible by span) | Time ranges | all',
    kind Enum8('entry' = 1, 'exit' = 2) COMMENT 'Whether page is where the visit began or ended | Entry and exit pages | all',
    page String CODEC(ZSTD(1)) COMMENT 'Page path (first or last pageview of the visit) | Entry and exit pages | all',
    visit_count SimpleAggregateFunction(sum, UInt64) COMMENT 'Visits (30 minutes without an event ends one) | Visits and the rates derived from them | all',
    bounces SimpleAggregateFunction(sum, UInt64) COMMENT 'Visits with one pageview and no click, custom event or form interaction | Bounce rate | all',
    pageviews SimpleAggregateFunction(sum, UInt64) COMMENT 'Page views in these visits | Views per visit | all',
    events SimpleAggregateFunction(sum, UInt64) COMMENT 'Events in these visits | Activity per visit | all',
    duration_s SimpleAggregateFunction(sum, UInt64) COMMENT 'Sum of visit durations (first to last event), seconds | Average visit duration | all',
    visitors AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors per page, mergeable across blocks and days | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'The site rollup retention; a block is kept 15 days longer | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(start)
ORDER BY (site, span, start, kind, page)
-- Rollups hold no identifiers (only sketches and counts). A block lives until the last day of the longest block
-- (16 days) is as old as the site rollup retention, so a range the daily rollups still answer never meets a
-- block whose early days expired first: at most 15 days beyond the retention, the inventory says so.
TTL start + toIntervalDay(retention_days + 15)
-- Fed only through the sessioniser's inserts: its per-day insert token makes a repeated close a no-op here too.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1, index_granularity = 1024
COMMENT 'Visits by entry and by exit page over aligned 1-, 4- and 16-day blocks'
