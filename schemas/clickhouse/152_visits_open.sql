-- The visits of the days not closed yet, kept current by the visits closer (collector/visits.py) every
-- minute or so: one row per site, day and visitor holding every visit that visitor started that day (arrays,
-- one element per visit), as the sessioniser derives them from all of the visitor's stored events. A round
-- rewrites the rows of each visitor with newly stored events, for every day that visitor has events on (a
-- day whose visit a late event moved to the day before gets empty arrays), with a version that only grows
-- with the events seen: the newest row wins, so a repeated, crashed or concurrent round changes nothing.
-- Reads take these rows for the open days and sessionise only the visitors stored since the last round.
CREATE TABLE IF NOT EXISTS analytics.visits_open
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day the visits started | Time series | all',
    visitor_id UInt64 COMMENT 'Pseudonymous visitor id of the raw events (kept no longer than the day is open) | Rewrites the visitor''s visits when a late event changes them | all',
    version UInt64 COMMENT 'Store time of the visitor''s newest event seen (ms) times 10^6 plus how many events were seen | The newest state wins | all',
    start Array(DateTime) COMMENT 'Time of the first event of each visit | Visit duration | all',
    tier Array(Enum8('anonymous' = 1, 'full' = 2)) COMMENT 'Consent tier of the first event of each visit | Consent reporting | all',
    duration_s Array(UInt32) COMMENT 'Seconds from the first to the last event of each visit | Visit duration | all',
    pageviews Array(UInt32) COMMENT 'Page views in each visit | Views per visit, bounces | all',
    events Array(UInt32) COMMENT 'Events in each visit | Activity per visit | all',
    interactions Array(UInt32) COMMENT 'Clicks, custom events and form interactions in each visit | Bounces | all',
    bounce Array(UInt8) COMMENT '1 when the visit had one pageview and no interaction | Bounce rate | all',
    entry_page Array(String) COMMENT 'Path of the first pageview of each visit | Entry pages | all',
    exit_page Array(String) COMMENT 'Path of the last pageview of each visit | Exit pages | all',
    referrer_host Array(LowCardinality(String)) COMMENT 'External referrer host of the first event of each visit | Traffic sources | all',
    utm_source Array(LowCardinality(String)) COMMENT 'utm_source of the first event of each visit | Campaign attribution | all',
    utm_medium Array(LowCardinality(String)) COMMENT 'utm_medium of the first event of each visit | Campaign attribution | all',
    utm_campaign Array(LowCardinality(String)) COMMENT 'utm_campaign of the first event of each visit | Campaign attribution | all',
    utm_content Array(LowCardinality(String)) COMMENT 'utm_content of the first event of each visit | Campaign attribution | all',
    utm_term Array(LowCardinality(String)) COMMENT 'utm_term of the first event of each visit | Campaign attribution | all',
    country Array(LowCardinality(String)) COMMENT 'Country ISO code of the first event of each visit | Audience by country | all',
    region Array(LowCardinality(String)) COMMENT 'Subdivision ISO code of the first event of each visit | Audience by region | all',
    city Array(LowCardinality(String)) COMMENT 'City name of the first event of each visit | Audience by city | all',
    device Array(LowCardinality(String)) COMMENT 'Device class of the first event of each visit | Technology support | all',
    browser Array(LowCardinality(String)) COMMENT 'Browser family of the first event of each visit | Technology support | all',
    browser_version Array(LowCardinality(String)) COMMENT 'Browser major version of the first event of each visit | Technology support | all',
    os Array(LowCardinality(String)) COMMENT 'Operating system family of the first event of each visit | Technology support | all',
    os_version Array(LowCardinality(String)) COMMENT 'Operating system major version of the first event of each visit | Technology support | all',
    rollup_retention_days Array(UInt16) COMMENT 'Days the rollup rows fed by each visit are kept | Per-site retention of aggregates | all',
    retention_days UInt16 COMMENT 'Days this row is kept at most: the raw retention of the visitor''s events | Per-site retention | all'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY day
ORDER BY (site, day, visitor_id)
-- A day is closed into the visit rollups a little over two days after it starts; its rows are not read after,
-- and the closer drops its partition two days later (collector/visits_open.py). Never kept longer than the
-- raw rows they come from.
TTL day + toIntervalDay(retention_days)
-- Erasure rewrites parts (collector/rights.py): superseded parts leave the disk within seconds, as for raw events.
SETTINGS fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 5, cleanup_delay_period = 1,
    max_cleanup_delay_period = 5, cleanup_delay_period_random_add = 1
COMMENT 'Visits of the open days per visitor and day, kept current by the visits closer (newest version wins)'
