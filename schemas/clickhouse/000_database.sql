-- The analytics database holds every table of the collector.
CREATE DATABASE IF NOT EXISTS analytics
