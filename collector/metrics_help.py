"""The HELP line of each metric; a metric not listed here gets its name in words."""

HELP: dict[str, str] = {
    "collector_events_received_total": "Events received in valid ingest requests, before the pipeline.",
    "collector_events_accepted_total": "Events the pipeline turned into rows and the spool made durable.",
    "collector_events_dropped_total": "Events the pipeline dropped, by reason (nothing of them is stored).",
    "collector_requests_rejected_total": "Ingest requests answered with a 4xx or 503, by error.",
    "collector_rows_flushed_total": "Rows inserted into the store, by table.",
    "collector_flush_errors_total": "Failed inserts (retried with the same deduplication token).",
    "collector_spool_replayed_rows_total": "Rows found in the spool at start-up and inserted again.",
    "collector_spool_quarantined_rows_total": "Rows of segments the store refused because of their rows, set aside.",
    "collector_spool_quarantined_segments": "Segments in spool quarantine, waiting for `collector spool replay`.",
    "collector_insert_failures_total": "Failed inserts by ClickHouse error name (or the exception type); all but parse "
                                       "and type errors are retried.",
    "collector_edge_limit_hits_total": "Connections cut or requests refused at the HTTP edge, by limit.",
    "collector_list_entries_total": "Entries of each maintained list loaded at start-up, by list and version.",
    "collector_buffer_rows": "Rows in the spool not yet inserted (all processes).",
    "collector_sql_queries_total": "Statements through /sql, by role and outcome (ok or the ClickHouse error name).",
    "collector_spool_bytes": "Bytes in the spool not yet inserted (all processes).",
    "collector_request_duration_seconds": "Time from request to response, by route (ingest or other).",
    "collector_insert_duration_seconds": "Time of one insert into the store, by table.",
    "process_virtual_memory_bytes": "Virtual memory size in bytes.",
    "process_resident_memory_bytes": "Resident memory size in bytes.",
    "process_start_time_seconds": "Start time of the process since unix epoch in seconds.",
    "process_cpu_seconds_total": "Total user and system CPU time spent in seconds.",
    "process_open_fds": "Number of open file descriptors.",
    "process_max_fds": "Maximum number of open file descriptors.",
}
