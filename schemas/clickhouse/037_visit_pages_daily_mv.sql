-- Feeds visit_pages_daily from each closed day the sessioniser inserts into analytics.visits (which stores nothing).
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.visit_pages_daily_mv TO analytics.visit_pages_daily AS
SELECT
    site,
    day,
    pair.1 AS kind,
    pair.2 AS page,
    count() AS visit_count,
    sum(bounce) AS bounces,
    sum(pageviews) AS pageviews,
    sum(events) AS events,
    sum(duration_s) AS duration_s,
    uniqCombined64State(12)(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.visits
ARRAY JOIN [('entry', entry_page), ('exit', exit_page)] AS pair
GROUP BY site, day, kind, page
