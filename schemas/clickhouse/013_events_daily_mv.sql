-- Feeds events_daily from every insert into events.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.events_daily_mv TO analytics.events_daily AS
SELECT
    site,
    toDate(ts) AS day,
    type,
    name,
    variant,
    count() AS events,
    uniqCombined64State(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type NOT IN ('pageview', 'engagement', 'vital')
GROUP BY site, day, type, name, variant
