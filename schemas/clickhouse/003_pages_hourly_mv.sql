-- Feeds pages_hourly from every insert into events.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.pages_hourly_mv TO analytics.pages_hourly AS
SELECT
    site,
    toStartOfHour(ts) AS hour,
    host,
    path,
    countIf(type = 'pageview') AS views,
    uniqCombined64State(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type IN ('pageview', 'engagement')
GROUP BY site, hour, host, path
