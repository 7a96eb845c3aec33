-- Feeds top_pages_daily from every insert into events, with the definitions of pages_daily.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.top_pages_daily_mv TO analytics.top_pages_daily AS
SELECT
    site,
    path,
    toDate(ts) AS day,
    host,
    countIf(type = 'pageview') AS views,
    uniqCombined64State(12)(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type IN ('pageview', 'engagement')
GROUP BY site, path, day, host
