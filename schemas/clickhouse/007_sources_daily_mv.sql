-- Feeds sources_daily from every insert into events.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.sources_daily_mv TO analytics.sources_daily AS
SELECT
    site,
    toDate(ts) AS day,
    referrer_host,
    utm_source,
    utm_medium,
    utm_campaign,
    count() AS views,
    uniqCombined64State(visitor_id) AS visitors,
    uniqCombined64State(session_id) AS visits,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type = 'pageview' AND referrer_path = ''
GROUP BY site, day, referrer_host, utm_source, utm_medium, utm_campaign
