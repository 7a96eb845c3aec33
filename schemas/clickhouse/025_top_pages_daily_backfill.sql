-- Fills top_pages_daily from the raw events the store already holds (its view only sees inserts made after it).
-- Migrations run before the collector accepts events; the emptiness guard makes a fill that was interrupted
-- before it was recorded a no-op on the next start instead of counting the same events twice.
INSERT INTO analytics.top_pages_daily
SELECT
    site,
    path,
    toDate(ts) AS day,
    host,
    countIf(type = 'pageview') AS views,
    uniqCombined64State(12)(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type IN ('pageview', 'engagement') AND (SELECT count() FROM analytics.top_pages_daily) = 0
GROUP BY site, path, day, host
