-- Viewport width of a heatmap click, so that clicks are grouped by layout (a mobile page is not a desktop page).
ALTER TABLE analytics.events ADD COLUMN IF NOT EXISTS viewport_width UInt16 CODEC(T64, ZSTD(1))
    COMMENT 'Viewport width in CSS pixels of a heatmap click, 0 when not sent | Heatmaps per layout | all'
