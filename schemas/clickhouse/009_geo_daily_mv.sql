-- Feeds geo_daily from every insert into events.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.geo_daily_mv TO analytics.geo_daily AS
SELECT
    site,
    toDate(ts) AS day,
    country,
    region,
    city,
    city_geoname_id,
    count() AS views,
    uniqCombined64State(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type = 'pageview'
GROUP BY site, day, country, region, city, city_geoname_id
