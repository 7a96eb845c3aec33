-- One row per visit, as the sessioniser (collector/visits.py) derives them from the raw events of a closed
-- day. The Null engine stores nothing: the rows only feed the visit rollups' materialized views, so the
-- visitor id below never reaches disk here (it is in the raw table already, and leaves the rollups as a sketch).
CREATE TABLE IF NOT EXISTS analytics.visits
(
    site LowCardinality(String) COMMENT 'Site id | Separates the data of each site | all',
    day Date COMMENT 'UTC day the visit started | Time series | all',
    start DateTime COMMENT 'Time of the first event of the visit | Visit duration | all',
    visitor_id UInt64 COMMENT 'Pseudonymous visitor id of the raw events, never stored by this table | Unique visitors in the rollup sketches | all',
    tier Enum8('anonymous' = 1, 'full' = 2) COMMENT 'Consent tier of the first event | Consent reporting | all',
    duration_s UInt32 COMMENT 'Seconds from the first to the last event | Visit duration | all',
    pageviews UInt32 COMMENT 'Page views in the visit | Views per visit, bounces | all',
    events UInt32 COMMENT 'Events in the visit | Activity per visit | all',
    interactions UInt32 COMMENT 'Clicks, custom events and form interactions in the visit | Bounces | all',
    bounce UInt8 COMMENT '1 when the visit had one pageview and no interaction | Bounce rate | all',
    entry_page String COMMENT 'Path of the first pageview | Entry pages | all',
    exit_page String COMMENT 'Path of the last pageview | Exit pages | all',
    referrer_host LowCardinality(String) COMMENT 'External referrer host of the first event | Traffic sources | all',
    utm_source LowCardinality(String) COMMENT 'utm_source of the first event | Campaign attribution | all',
    utm_medium LowCardinality(String) COMMENT 'utm_medium of the first event | Campaign attribution | all',
    utm_campaign LowCardinality(String) COMMENT 'utm_campaign of the first event | Campaign attribution | all',
    utm_content LowCardinality(String) COMMENT 'utm_content of the first event | Campaign attribution | all',
    utm_term LowCardinality(String) COMMENT 'utm_term of the first event | Campaign attribution | all',
    country LowCardinality(String) COMMENT 'Country ISO code of the first event | Audience by country | all',
    region LowCardinality(String) COMMENT 'Subdivision ISO code of the first event | Audience by region | all',
    city LowCardinality(String) COMMENT 'City name of the first event | Audience by city | all',
    device LowCardinality(String) COMMENT 'Device class of the first event | Technology support | all',
    browser LowCardinality(String) COMMENT 'Browser family of the first event | Technology support | all',
    browser_version LowCardinality(String) COMMENT 'Browser major version of the first event | Technology support | all',
    os LowCardinality(String) COMMENT 'Operating system family of the first event | Technology support | all',
    os_version LowCardinality(String) COMMENT 'Operating system major version of the first event | Technology support | all',
    rollup_retention_days UInt16 COMMENT 'Days the rollup rows fed by this visit are kept | Per-site retention of aggregates | all'
)
ENGINE = Null
COMMENT 'Visits of a closed day on their way to the visit rollups (stores nothing)'
