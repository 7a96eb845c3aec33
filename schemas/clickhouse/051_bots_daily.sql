-- The bot breakdown: dropped bots per site, day, category and family. Category and family come from a
-- closed table in the collector (collector/agents.py), never from the user agent's text.
-- Written by the collector itself, not by a view: dropped events never reach the raw table.
CREATE TABLE IF NOT EXISTS analytics.bots_daily
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day | Time series | all',
    category LowCardinality(String) COMMENT 'Bot category: search, ai, social, seo, monitor, feed, library, headless, empty, other | Shows which robots were kept out of the counts | all',
    family LowCardinality(String) COMMENT 'Bot family from a fixed list (e.g. Google, Bing, OpenAI, HTTP library), Other otherwise | Shows which robots were kept out of the counts | all',
    events SimpleAggregateFunction(sum, UInt64) COMMENT 'Number of events dropped | Shows which robots were kept out of the counts | all',
    retention_days SimpleAggregateFunction(max, UInt16) COMMENT 'Days this row is kept: the site rollup retention | Per-site retention of aggregates | all'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, category, family)
-- Counts hold nothing about visitors: kept as long as the rollups they explain.
TTL day + toIntervalDay(retention_days)
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Per-site, per-day counts of dropped bots by category and family'
