"""What each non-admin role may read through the SQL door. One list, used by the guard (collector/read/guard.py)
and by the metadata the door shows (system.tables/columns filtered to these objects).

- `read`: the dashboard views only: aggregates over the rollups with small cells suppressed, no visitor or
  session ids (the stats and suppression work adds them here as they are created).
- `analyst`: the same plus the rollups and the raw, pseudonymous `analytics.events` (a site may forbid it).
"""

from __future__ import annotations

# Suppressed dashboard views (parameterised views are called as `analytics.name(site='…', …)`).
READ_OBJECTS: frozenset[str] = frozenset({
    "analytics.read_pages", "analytics.read_visits", "analytics.read_goals", "analytics.read_heatmap",
})

# Everything the read role sees, plus the rollups and the raw events.
ANALYST_OBJECTS: frozenset[str] = READ_OBJECTS | frozenset({
    "analytics.events",
    "analytics.pages_hourly", "analytics.pages_daily", "analytics.sources_daily", "analytics.geo_daily",
    "analytics.technology_daily", "analytics.events_daily", "analytics.vitals_daily", "analytics.tiers_daily",
    "analytics.dropped_daily", "analytics.site_daily", "analytics.top_pages_daily", "analytics.top_sources_daily",
    "analytics.visits_daily", "analytics.visit_sources_daily", "analytics.visit_pages_daily",
    "analytics.visit_geo_daily", "analytics.visit_technology_daily", "analytics.visits_closed",
    "analytics.heatmap_daily",
})
