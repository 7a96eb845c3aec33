-- Fills top_pages_blocks from the day rows the store already holds (its view only sees inserts made after it).
-- Migrations run before the collector accepts events; the emptiness guard makes a fill that was interrupted
-- before it was recorded a no-op on the next start instead of counting the same days twice.
INSERT INTO analytics.top_pages_blocks
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
WHERE (SELECT count() FROM analytics.top_pages_blocks) = 0
GROUP BY site, span, start, path, host
