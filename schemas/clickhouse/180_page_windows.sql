-- The page lists of the dashboard's standard ranges, kept ready: each page's visitors sketch and counts over
-- the closed days of "last 7 days" and "last 30 days" (the days before today and yesterday, which are open),
-- written by the visits closer each time a day closes (collector/page_windows.py) from the day rollups
-- top_pages_daily and visit_pages_daily. A 30-day page list then merges one sketch per page instead of one
-- per page and day. A row of kind 'complete' marks a window as whole: reads use a window only then, and
-- otherwise read the day rows. Writing a window again writes the same rows, and every column merges by
-- max or by union, so a repeated or concurrent write changes nothing. No visitor or session id outside uniq
-- sketches.
CREATE TABLE IF NOT EXISTS analytics.page_windows
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    last_day Date COMMENT 'Last UTC day of the window (a closed day) | Which range the row answers | all',
    days UInt16 COMMENT 'Days in the window, ending on last_day | Which range the row answers | all',
    kind Enum8('page' = 1, 'entry' = 2, 'exit' = 3, 'complete' = 4) COMMENT 'Pages viewed, entry pages or exit pages of visits; complete marks a whole window | Top, entry and exit pages | all',
    page String CODEC(ZSTD(1)) COMMENT 'Page path | Top, entry and exit pages | all',
    pageviews SimpleAggregateFunction(max, UInt64) COMMENT 'Page views of the page (kind page) or in the visits (entry and exit) | Pageviews, views per visit | all',
    visit_count SimpleAggregateFunction(max, UInt64) COMMENT 'Visits that entered or left on the page | Visits and the rates derived from them | all',
    bounces SimpleAggregateFunction(max, UInt64) COMMENT 'Those visits with one pageview and no interaction | Bounce rate | all',
    events SimpleAggregateFunction(max, UInt64) COMMENT 'Events in those visits | Activity per visit | all',
    duration_s SimpleAggregateFunction(max, UInt64) COMMENT 'Sum of those visits'' durations, seconds | Average visit duration | all',
    visitors AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors per page over the window | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days after last_day this row is kept: at most a week, and never past the site rollup retention of the window''s first day | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(last_day)
ORDER BY (site, last_day, days, kind, page)
-- Read only while last_day is the newest closed day: kept a week, and never longer than the day rows it sums.
TTL last_day + toIntervalDay(least(retention_days, 7))
SETTINGS fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Page lists over the closed days of the standard ranges, per page'
