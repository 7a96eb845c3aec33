-- Feeds top_sources_daily from every insert into events, with the definitions of sources_daily.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.top_sources_daily_mv TO analytics.top_sources_daily AS
SELECT
    site,
    referrer_host,
    toDate(ts) AS day,
    count() AS views,
    uniqCombined64State(12)(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type = 'pageview' AND referrer_path = ''
GROUP BY site, referrer_host, day
