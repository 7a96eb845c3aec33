-- Feeds visit_pages_blocks from every insert into visit_pages_daily (one closed day at a time): the day's
-- rows, as a 1-day block and merged into the 4-day and the 16-day block the day falls in.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.visit_pages_blocks_mv TO analytics.visit_pages_blocks AS
SELECT
    site,
    span,
    day - toUInt16(day) % span AS start,
    kind,
    page,
    sum(visit_count) AS visit_count,
    sum(bounces) AS bounces,
    sum(pageviews) AS pageviews,
    sum(events) AS events,
    sum(duration_s) AS duration_s,
    uniqCombined64MergeState(12)(visitors) AS visitors,
    max(retention_days) AS retention_days
FROM analytics.visit_pages_daily
ARRAY JOIN [1, 4, 16] AS span
GROUP BY site, span, start, kind, page
