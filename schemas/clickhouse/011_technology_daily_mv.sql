-- Feeds technology_daily from every insert into events.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.technology_daily_mv TO analytics.technology_daily AS
SELECT
    site,
    toDate(ts) AS day,
    browser,
    browser_version,
    os,
    os_version,
    device,
    count() AS views,
    uniqCombined64State(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type = 'pageview'
GROUP BY site, day, browser, browser_version, os, os_version, device
