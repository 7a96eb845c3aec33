-- Feeds vitals_daily from every insert into events.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.vitals_daily_mv TO analytics.vitals_daily AS
SELECT
    site,
    toDate(ts) AS day,
    path,
    name,
    count() AS samples,
    quantilesState(0.5, 0.75, 0.95)(value) AS value,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type = 'vital'
GROUP BY site, day, path, name
