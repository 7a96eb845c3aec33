"""The read side: the `/sql` door (ClickHouse's HTTP interface with least-privilege roles), the stats API,
small-cell suppression and the built-in dashboard. It reads the store; it never imports the ingest edge."""
