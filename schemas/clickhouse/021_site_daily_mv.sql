-- Feeds site_daily from every insert into events. Visitors and visits count every event type, as tiers_daily does.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.site_daily_mv TO analytics.site_daily AS
SELECT
    site,
    toDate(ts) AS day,
    countIf(type = 'pageview') AS views,
    uniqCombined64State(12)(visitor_id) AS visitors,
    uniqCombined64State(12)(session_id) AS visits,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
GROUP BY site, day
