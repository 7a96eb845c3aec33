-- Fills site_daily from the raw events the store already holds (its view only sees inserts made after it).
-- Migrations run before the collector accepts events; the emptiness guard makes a fill that was interrupted
-- before it was recorded a no-op on the next start instead of counting the same events twice.
INSERT INTO analytics.site_daily
SELECT
    site,
    toDate(ts) AS day,
    countIf(type = 'pageview') AS views,
    uniqCombined64State(12)(visitor_id) AS visitors,
    uniqCombined64State(12)(session_id) AS visits,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE (SELECT count() FROM analytics.site_daily) = 0
GROUP BY site, day
