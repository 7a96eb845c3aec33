-- The open days' visits in the shapes of the visit rollups, as of the visits closer's last round: after it
-- brings analytics.visits_open up to date, the round aggregates it once (collector/open_rollups.py) into one
-- build holding, for every site and open day, the rows visits_daily, visit_sources_daily, visit_geo_daily,
-- visit_technology_daily and visit_pages_daily will hold once the day closes (`kind` says which; the
-- columns another kind uses are empty). Reads of the open days then read these rows as they read the day
-- rollups, with nothing sessionised at query time. A build is read only once the round that wrote it has
-- recorded it in analytics.visits_watermark (`built_ms`), after every row of it: a crash half-way leaves an
-- unread build, which the next round replaces. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.visits_open_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    round UInt64 COMMENT 'Watermark (ms) of the round that built the row | Which build a read takes | all',
    day Date COMMENT 'UTC day the visits started (an open day) | Time series | all',
    kind Enum8('visits' = 1, 'sources' = 2, 'geo' = 3, 'technology' = 4, 'entry' = 5, 'exit' = 6) COMMENT 'Which visit rollup the row stands in for | Reads the rows of one shape | all',
    referrer_host LowCardinality(String) COMMENT 'External referrer host of the first event (kind sources) | Traffic sources | all',
    utm_source LowCardinality(String) COMMENT 'utm_source of the first event (kind sources) | Campaign attribution | all',
    utm_medium LowCardinality(String) COMMENT 'utm_medium of the first event (kind sources) | Campaign attribution | all',
    utm_campaign LowCardinality(String) COMMENT 'utm_campaign of the first event (kind sources) | Campaign attribution | all',
    utm_content LowCardinality(String) COMMENT 'utm_content of the first event (kind sources) | Campaign attribution | all',
    utm_term LowCardinality(String) COMMENT 'utm_term of the first event (kind sources) | Campaign attribution | all',
    country LowCardinality(String) COMMENT 'Country ISO code at the start of the visit (kind geo) | Audience by country | all',
    region LowCardinality(String) COMMENT 'Subdivision ISO code at the start of the visit (kind geo) | Audience by region | all',
    city LowCardinality(String) COMMENT 'City name at the start of the visit (kind geo) | Audience by city | all',
    device LowCardinality(String) COMMENT 'Device class (kind technology) | Technology support | all',
    browser LowCardinality(String) COMMENT 'Browser family (kind technology) | Technology support | all',
    browser_version LowCardinality(String) COMMENT 'Browser major version (kind technology) | Technology support | all',
    os LowCardinality(String) COMMENT 'Operating system family (kind technology) | Technology support | all',
    os_version LowCardinality(String) COMMENT 'Operating system major version (kind technology) | Technology support | all',
    page String CODEC(ZSTD(1)) COMMENT 'Entry or exit page of the visits (kinds entry and exit) | Entry and exit pages | all',
    visit_count UInt64 COMMENT 'Visits (30 minutes without an event ends one) | Visits and the rates derived from them | all',
    bounces UInt64 COMMENT 'Visits with one pageview and no click, custom event or form interaction | Bounce rate | all',
    pageviews UInt64 COMMENT 'Page views in these visits | Views per visit | all',
    events UInt64 COMMENT 'Events in these visits | Activity per visit | all',
    duration_s UInt64 COMMENT 'Sum of visit durations (first to last event), seconds | Average visit duration | all',
    visitors AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct visitor ids; ids cannot be read back from it | Unique visitors, mergeable with the closed days'' | all',
    written DateTime DEFAULT now() COMMENT 'When the round wrote the row | Expiry of builds no round dropped | all'
)
ENGINE = MergeTree
PARTITION BY round
ORDER BY (site, kind, day)
-- A build is read until a newer one replaces it: the closer drops superseded builds' partitions some
-- minutes later (readers may still hold the older build's round); this TTL is the backstop.
TTL written + toIntervalDay(1)
SETTINGS fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Visits of the open days in the shapes of the visit rollups, one build per closer round'
