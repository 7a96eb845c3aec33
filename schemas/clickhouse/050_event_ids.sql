-- Keys of the events stored with a client event_id, for the dedup window (collector/duplicates.py): a
-- re-sent event (a retry, sendBeacon after fetch, a double click) is acknowledged but not stored again.
-- Written by the collector's writer in the same segment insert as the events. Ordered by key: the
-- per-batch lookup of server mode is a primary-key lookup. Never the event id itself, no visitor id.
CREATE TABLE IF NOT EXISTS analytics.event_ids
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    key UInt64 COMMENT '64-bit hash of the site and the client event id (a random id per event), never the id itself | Recognises a re-sent event within the dedup window | all',
    inserted DateTime COMMENT 'When the event was stored, to the second | Bounds the dedup window | all'
)
ENGINE = MergeTree
PARTITION BY toDate(inserted)
ORDER BY key
-- The dedup window is an hour; a day leaves room for clocks that disagree between collectors.
TTL inserted + toIntervalDay(1)
-- Dedup window: a retried segment insert is a no-op. Parts are fsync'd: the spool deletes a segment once inserted.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1
COMMENT 'Keys of recently stored events that carried an event id, kept one day for the duplicate-send check'
