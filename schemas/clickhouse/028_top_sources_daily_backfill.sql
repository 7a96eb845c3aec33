-- Fills top_sources_daily from the raw events the store already holds (its view only sees inserts made after it).
-- Migrations run before the collector accepts events; the emptiness guard makes a fill that was interrupted
-- before it was recorded a no-op on the next start instead of counting the same events twice.
INSERT INTO analytics.top_sources_daily
SELECT
    site,
    referrer_host,
    toDate(ts) AS day,
    count() AS views,
    uniqCombined64State(12)(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type = 'pageview' AND referrer_path = '' AND (SELECT count() FROM analytics.top_sources_daily) = 0
GROUP BY site, referrer_host, day
