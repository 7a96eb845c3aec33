-- The build of analytics.visits_open_daily a round wrote (or the last one still current): reads of the open
-- days take that build's rows. 0 before the first build: reads take analytics.visits_open.
ALTER TABLE analytics.visits_watermark ADD COLUMN IF NOT EXISTS built_ms UInt64 DEFAULT 0 COMMENT 'Round of the current build in analytics.visits_open_daily, 0 before any | Which build reads take | all'
