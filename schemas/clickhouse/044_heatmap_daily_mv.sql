-- Feeds heatmap_daily from every heatmap click inserted into events. Width buckets follow common layout
-- breakpoints (576, 768, 992, 1200, 1400 px); a bucket is named by its lower bound, 320 for narrower.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.heatmap_daily_mv TO analytics.heatmap_daily AS
SELECT
    site,
    toDate(ts) AS day,
    path,
    toUInt16(multiIf(viewport_width = 0, 0, viewport_width < 576, 320, viewport_width < 768, 576,
                     viewport_width < 992, 768, viewport_width < 1200, 992, viewport_width < 1400, 1200, 1400)) AS width,
    toUInt8(least(19, floor(x * 20))) AS x_cell,
    toUInt8(least(49, floor(y * 50))) AS y_cell,
    count() AS clicks,
    uniqCombined64State(12)(visitor_id) AS visitors,
    max(rollup_retention_days) AS retention_days
FROM analytics.events
WHERE type = 'click' AND name = 'heatmap'
GROUP BY site, day, path, width, x_cell, y_cell
