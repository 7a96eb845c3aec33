-- Erasure (withdrawal, data-subject delete, site purge) rewrites the parts of the raw table; the parts it
-- supersedes are crash-safety copies that still hold the erased rows. Remove them within seconds instead
-- of the engine default of 8 minutes, so deleted data really leaves the disk promptly.
ALTER TABLE analytics.events
    MODIFY SETTING old_parts_lifetime = 10, cleanup_delay_period = 1, cleanup_delay_period_random_add = 1
