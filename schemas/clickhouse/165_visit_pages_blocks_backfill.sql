-- Fills visit_pages_blocks from the closed days the store already holds (its view only sees later closes).
-- Migrations run before the collector closes a day; the emptiness guard makes a fill that was interrupted
-- before it was recorded a no-op on the next start instead of counting the same days twice.
INSERT INTO analytics.visit_pages_blocks
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
WHERE (SELECT count() FROM analytics.visit_pages_blocks) = 0
GROUP BY site, span, start, kind, page
