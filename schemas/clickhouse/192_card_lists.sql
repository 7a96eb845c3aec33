-- The dashboard's single-dimension cards over its standard ranges ("last 7 days" and "last 30 days", ending
-- today) as of the visits closer's current build (analytics.visits_open_daily): after a round, each site's
-- top pages, entry and exit pages, sources, locations, technology and goals over each range, one row per value with
-- its visitors already counted (collector/read/card_lists.py), computed by the stats builder from the same
-- rollups, page windows and build a read would merge. A card of such a range then reads these rows as they
-- are instead of merging a sketch per value and day; other ranges, filters and columns are read as before.
-- An attempt is read only once its complete row (empty dimension) exists, written last; superseded builds'
-- lists are dropped with the build. No visitor or session id outside uniq sketches.
CREATE TABLE IF NOT EXISTS analytics.card_lists
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    round UInt64 COMMENT 'Round of the build the list was computed from (analytics.visits_open_daily) | Which lists a read takes | all',
    date_from Date COMMENT 'First UTC day of the range | Which range the row answers | all',
    date_to Date COMMENT 'Last UTC day of the range (today when written) | Which range the row answers | all',
    attempt UInt64 COMMENT 'Time the writer started the lists (microseconds) | Reads take complete attempts only | all',
    dimension LowCardinality(String) COMMENT 'The stats API dimension listed (event:page, visit:country...); empty on the row that marks an attempt complete | Which card the row answers | all',
    value String CODEC(ZSTD(1)) COMMENT 'The dimension''s value: a page path, source, country, browser... | The card''s rows | all',
    uniques UInt64 COMMENT 'Distinct visitors of the value over the range, counted from the sketch | Ranking and small-cell suppression | all',
    pageviews UInt64 COMMENT 'Page views of the page (event:page) or in the visits | Pageviews, views per visit | all',
    visit_count UInt64 COMMENT 'Visits with this value | Visits and the rates derived from them | all',
    bounces UInt64 COMMENT 'Those visits with one pageview and no interaction | Bounce rate | all',
    events UInt64 COMMENT 'Events in those visits | Activity per visit | all',
    duration_s UInt64 COMMENT 'Sum of those visits'' durations, seconds | Average visit duration | all',
    visitors AggregateFunction(uniqCombined64(12), UInt64) COMMENT 'Compact sketch of distinct visitor ids; ids cannot be read back from it | The visitors of the rows folded into (other) | all',
    event_visitors AggregateFunction(uniqCombined64, UInt64) COMMENT 'The same sketch at the precision of the custom-event rollups (goals) | The visitors of the goals folded into (other) | all',
    written DateTime DEFAULT now() COMMENT 'When the row was written | Expiry of lists no round dropped | all'
)
ENGINE = MergeTree
PARTITION BY round
-- By count within a card: the rows a fold can take (the smallest) are read with their sketches, in few granules.
ORDER BY (site, date_to, date_from, dimension, attempt, uniques, value)
-- Dropped with their build some minutes after it is superseded (collector/open_rollups.py); this TTL is the backstop.
TTL written + toIntervalDay(1)
SETTINGS fsync_after_insert = 1, fsync_part_directory = 1, index_granularity = 256
COMMENT 'The dashboard''s single-dimension cards over the standard ranges as of the closer''s current build'
