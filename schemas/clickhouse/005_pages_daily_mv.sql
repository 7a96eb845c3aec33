-- Feeds pages_daily from every insert into events.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.pages_daily_mv TO analytics.pages_daily AS
SELECT
    site,
    toDate(ts) AS day,
    host,
    path,
    countIf(type = 'pageview') AS views,
    uniqCombined64State(visitor_id) AS visitors,
    sumIf(toUInt64(engaged_ms), type = 'engagement') AS engaged_ms,
    countIf(type = 'engagement') AS engagements,
    sumIf(toUInt64(scroll_pct), type = 'engagement') AS scroll_pct_sum,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type IN ('pageview', 'engagement')
GROUP BY site, day, host, path
