-- Feeds tiers_daily from every insert into events.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.tiers_daily_mv TO analytics.tiers_daily AS
SELECT
    site,
    toDate(ts) AS day,
    tier,
    count() AS events,
    uniqCombined64State(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE 1
GROUP BY site, day, tier
