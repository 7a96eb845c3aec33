-- Feeds visits_daily from each closed day the sessioniser inserts into analytics.visits (which stores nothing).
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.visits_daily_mv TO analytics.visits_daily AS
SELECT
    site,
    day,
    count() AS visit_count,
    sum(bounce) AS bounces,
    sum(pageviews) AS pageviews,
    sum(events) AS events,
    sum(duration_s) AS duration_s,
    uniqCombined64State(12)(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.visits
GROUP BY site, day
