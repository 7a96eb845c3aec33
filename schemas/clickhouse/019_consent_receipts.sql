-- Consent receipts: proof of every consent choice (banner or API) and of the opt-out signals (GPC, DNT)
-- the collector honoured. Never an IP, a user agent or a URL. Written by the pipeline, not by a view.
-- Column comments are "what | why | consent tiers": the privacy inventory is generated from them.
CREATE TABLE IF NOT EXISTS analytics.consent_receipts
(
    receipt_id UUID COMMENT 'Random id of the receipt (the client event id when one was sent) | Names one receipt, so erasure after a withdrawal keeps the withdrawal itself | all',
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    ts DateTime CODEC(Delta, ZSTD(1)) COMMENT 'When the choice was made or the signal last seen, to the second | Proves when consent was given or withdrawn | all',
    visitor_id UInt64 CODEC(ZSTD(1)) COMMENT 'Pseudonymous visitor id (HMAC of the consented first-party id), 0 when the choice came without one | Ties the proof to the visitor for access, export and erasure | full',
    action Enum8('grant' = 1, 'withdraw' = 2) COMMENT 'Whether consent was granted or withdrawn (an opt-out signal counts as withdraw) | Proves what was decided | all',
    categories Array(LowCardinality(String)) COMMENT 'Consent categories the choice covers, e.g. analytics | Proves what was decided | all',
    policy_version LowCardinality(String) COMMENT 'Version of the site privacy policy the choice was made on (the site setting when the client sent none) | Proves which text the visitor saw | all',
    source Enum8('banner' = 1, 'api' = 2, 'gpc' = 3, 'dnt' = 4) COMMENT 'Where the choice came from: banner (a page), api (a server call), gpc or dnt (a browser signal) | Proves how consent was obtained or refused | all',
    tier Enum8('anonymous' = 1, 'full' = 2, 'denied' = 3) COMMENT 'Consent tier the visitor events are stored under after this choice | Proves which rules applied afterwards | all',
    requests UInt32 COMMENT 'Requests this receipt covers: 1 for a choice, the requests that carried the signal for a signal receipt | Shows how often an opt-out signal was honoured | all',
    retention_days UInt16 COMMENT 'Days this row is kept: the site receipt retention at insert time | Per-site retention of consent proof | all'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (site, visitor_id, ts)
-- Proof of consent must outlive the raw events it covers (GDPR art. 7(1)): the site receipt retention, 3 years by default.
TTL ts + toIntervalDay(retention_days)
-- Dedup window: a retried batch is a no-op. Parts superseded by an erasure leave the disk within seconds, not minutes.
-- Parts are fsync'd on insert: the spool deletes a segment once it is inserted, so the part must be durable.
SETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1, fsync_part_directory = 1, old_parts_lifetime = 5, cleanup_delay_period = 1,
    max_cleanup_delay_period = 5,
    cleanup_delay_period_random_add = 1
COMMENT 'Consent receipts: grants, withdrawals and honoured opt-out signals, kept for the site receipt retention'
