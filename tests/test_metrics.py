"""/metrics: prometheus-client's text format with HELP lines, histograms and process metrics; several
processes' values summed through their snapshots."""

from __future__ import annotations

import threading
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from collector.metrics import Metrics


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_counters_gauges_and_histograms_parse_with_help_lines() -> None:
    metrics = Metrics()
    metrics.inc("collector_events_received_total", 3)
    metrics.inc("collector_events_dropped_total", reason="bot")
    metrics.gauge("collector_buffer_rows", lambda: 7)
    metrics.observe("collector_insert_duration_seconds", 0.003, table="events")
    observe = metrics.observer("collector_request_duration_seconds", route="ingest")
    observe(0.0004)
    observe(2.0)
    text = metrics.render()
    samples = _samples(text)
    assert samples[("collector_events_received_total", ())] == 3
    assert samples[("collector_events_dropped_total", (("reason", "bot"),))] == 1
    assert samples[("collector_buffer_rows", ())] == 7
    ingest = (("le", "0.0005"), ("route", "ingest"))
    assert samples[("collector_request_duration_seconds_bucket", ingest)] == 1
    assert samples[("collector_request_duration_seconds_bucket", (("le", "+Inf"), ("route", "ingest")))] == 2
    assert samples[("collector_request_duration_seconds_count", (("route", "ingest"),))] == 2
    assert samples[("collector_insert_duration_seconds_count", (("table", "events"),))] == 1
    assert samples[("process_resident_memory_bytes", ())] > 0
    assert "# HELP collector_events_received_total Events received" in text
    assert metrics.get("collector_events_dropped_total", reason="bot") == 1


def test_every_metric_has_a_help_line() -> None:
    metrics = Metrics()
    metrics.inc("collector_something_new_total")
    families = list(text_string_to_metric_families(metrics.render()))
    assert families and all(family.documentation for family in families)


def test_processes_sum_through_their_snapshots(tmp_path: Path) -> None:
    worker_0, worker_1 = Metrics(tmp_path, "worker-0"), Metrics(tmp_path, "worker-1")
    worker_0.inc("collector_events_accepted_total", 5)
    worker_1.inc("collector_events_accepted_total", 7)
    worker_0.observe("collector_request_duration_seconds", 0.001, route="ingest")
    worker_1.observe("collector_request_duration_seconds", 0.001, route="ingest")
    worker_1.gauge("collector_buffer_rows", lambda: 4)
    worker_0.gauge("collector_buffer_rows", lambda: 1)
    worker_1.publish()
    samples = _samples(worker_0.render())
    assert samples[("collector_events_accepted_total", ())] == 12
    assert samples[("collector_buffer_rows", ())] == 5
    assert samples[("collector_request_duration_seconds_count", (("route", "ingest"),))] == 2
    assert {labels for name, labels in samples if name == "process_resident_memory_bytes"} == {
        (("process", "worker-0"),), (("process", "worker-1"),)}
    worker_0.close()
    worker_1.close()


def test_a_restarted_process_resumes_its_counters(tmp_path: Path) -> None:
    before = Metrics(tmp_path, "worker-0")
    before.inc("collector_events_accepted_total", 5)
    before.close()
    after = Metrics(tmp_path, "worker-0")
    after.inc("collector_events_accepted_total", 1)
    assert _samples(after.render())[("collector_events_accepted_total", ())] == 6
    after.close()


def test_a_scrape_and_the_publisher_thread_publish_at_once_without_error(tmp_path: Path) -> None:
    """Both write this process's snapshot; with one temporary name for both, a rename found it gone."""
    metrics = Metrics(tmp_path, "owner")
    errors: list[BaseException] = []

    def publish() -> None:
        for _ in range(300):
            try:
                metrics.publish()
            except BaseException as exc:  # noqa: BLE001 - any error is the failure this test looks for
                errors.append(exc)
                return

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [p.name for p in tmp_path.iterdir()] == ["owner.json"]
