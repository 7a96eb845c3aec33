-- Views and visitors per page over aligned blocks of 1, 4 and 16 days, merged from top_pages_daily as it is
-- written. A 30-day top-pages list merges about 7 sketches per page (a 16-day block, 4-day blocks and single
-- days at the ends, collector/read/blocks.py) instead of 30: merging sketches is what such a query spends its
-- time on. Ordered by block size and start, so each piece of a range is one contiguous read. A block's start
-- is aligned (days since 1970-01-01 divisible by span). No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.top_pages_blocks
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    span UInt8 COMMENT 'Days in the block: 1, 4 or 16 | Picks the block size a range is split into | all',
    start Date COMMENT 'First UTC day of the block (days since 1970-01-01 divisible by span) | Time ranges | all',
    path LowCardinality(String) COMMENT 'Page path | Top pages | all',
    host LowCardinality(String) COMMENT 'Page host name | Sites served on several hosts | all',
    views SimpleAggregateFunction(sum, UInt64) COMMENT 'Page views | Traffic volume | all',
    visitors AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors per page, mergeable across blocks and days | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'The site rollup retention; a block is kept 15 days longer | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(start)
ORDER BY (site, span, start, path, host)
-- Rollups hold no identifiers (only sketches and counts). A block lives until the last day of the longest block
-- (16 days) is as old as the site rollup retention, so a range the daily rollups still answer never meets a
-- block whose early days expired first: at most 15 days beyond the retention, the inventory says so.
TTL start + toIntervalDay(retention_days + 15)
-- Same dedup window as the raw table, so a retried insert does not double the aggregates.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1, index_granularity = 1024
COMMENT 'Views and visitors per page over aligned 1-, 4- and 16-day blocks (top pages of long ranges)'
