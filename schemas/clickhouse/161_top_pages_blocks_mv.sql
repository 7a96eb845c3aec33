-- Feeds top_pages_blocks from every insert into top_pages_daily (itself fed by each insert into events): the
-- day rows of the insert, as 1-day blocks and merged into the 4-day and the 16-day block they fall in.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.top_pages_blocks_mv TO analytics.top_pages_blocks AS
SELECT
    site,
    span,
    day - toUInt16(day) % span AS start,
    path,
    host,
    sum(views) AS views,
    uniqCombined64MergeState(12)(visitors) AS visitors,
    max(retention_days) AS retention_days
FROM analytics.top_pages_daily
ARRAY JOIN [1, 4, 16] AS span
GROUP BY site, span, start, path, host
