-- Rows stored before `inserted` existed get the time of this migration written down once (otherwise their
-- default would be read as the time of each query, and they would look newly stored forever).
ALTER TABLE analytics.events MATERIALIZE COLUMN inserted SETTINGS mutations_sync = 2
