-- When each raw row was stored (the server's clock at insert, shared by every row of one writer batch), so
-- that the visits closer (collector/visits.py) reads only the rows stored since its last round, and a read
-- knows which visitors have events its pre-sessionised visits do not include yet. Not the event time (ts).
ALTER TABLE analytics.events ADD COLUMN IF NOT EXISTS inserted DateTime64(3) DEFAULT now64(3) CODEC(Delta, ZSTD(1))
    COMMENT 'When the row was stored: the insert time of its writer batch, not of the request | Visits kept current incrementally | all'
