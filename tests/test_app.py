"""HTTP surface besides ingest validation: pixel, tracker, health, metrics, CORS."""

from __future__ import annotations

import pytest
from conftest import FIREFOX, event


def test_pixel_stores_a_pageview_and_always_answers_a_gif(api) -> None:
    ok = api.client.get("/api/event.gif", params={"site": "test.example", "url": "https://test.example/nojs?x=1",
                                                  "ref": "https://news.example/a"}, headers={"user-agent": FIREFOX})
    bad = api.client.get("/api/event.gif", params={"site": "test.example", "url": "javascript:1"},
                         headers={"user-agent": FIREFOX})
    for response in (ok, bad):
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif" and response.content.startswith(b"GIF89a")
    assert api.rows("SELECT type, path, referrer_host FROM analytics.events") == [("pageview", "/nojs", "news.example")]


def test_pixel_without_url_uses_the_referer(api) -> None:
    api.client.get("/api/event.gif?site=test.example",
                   headers={"user-agent": FIREFOX, "referer": "https://test.example/from-referer?secret=1"})
    assert api.rows("SELECT path FROM analytics.events") == [("/from-referer",)]


def test_tracker_is_served_with_etag_and_cache_headers(api) -> None:
    response = api.client.get("/t.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age" in response.headers["cache-control"]
    etag = response.headers["etag"]
    again = api.client.get("/t.js", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""


def test_health_readiness_and_metrics(api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").status_code == 200
    api.send([event(), event(site="nobody.example")])
    api.flush()
    text = api.client.get("/metrics").text
    for line in ("collector_events_received_total 2.0", "collector_events_accepted_total 1.0",
                 'collector_events_dropped_total{reason="unknown_site"} 1.0',
                 'collector_rows_flushed_total{table="events"} 1.0', "collector_buffer_rows 0.0"):
        assert line in text.splitlines(), line
    assert "collector_flush_errors_total" not in text  # no insert failed here (test_writer makes one fail)
    assert_prometheus_text(text)


def assert_prometheus_text(text: str) -> None:
    """Every sample belongs to a family declared once with `# TYPE`, before its samples (a counter's
    samples end in _total, a histogram's in _bucket/_sum/_count)."""
    declared: list[str] = []
    suffixes = {"counter": ("_total", ""), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    samples: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            assert name not in declared and kind in suffixes, line
            declared.append(name)
            samples |= {name.removesuffix("_total") + s if kind == "counter" else name + s for s in suffixes[kind]}
        else:
            name = line.split("{")[0].split(" ")[0]
            assert name in samples, f"{name} has no # TYPE line"
            float(line.rsplit(" ", 1)[1])
    assert declared


def test_the_exposition_check_can_fail() -> None:
    assert_prometheus_text("# TYPE a counter\na 1\n")
    for broken in ("a 1\n", "# TYPE a counter\n# TYPE a counter\na 1\n", "# TYPE a counter\nb 1\n"):
        with pytest.raises(AssertionError):
            assert_prometheus_text(broken)


def test_cors_only_for_the_sites_origins(api) -> None:
    allowed = api.send(event(), headers={"origin": "https://www.test.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://www.test.example"
    preflight = api.client.options("/api/event", headers={"origin": "https://test.example",
                                                          "access-control-request-method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "https://test.example"
    stranger = api.client.options("/api/event", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers


def test_no_log_line_carries_request_data(api, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    api.send(event(url="https://test.example/?utm_source=canary-value"), ua=FIREFOX + " canary-ua")
    api.send(b"{not json canary-body", content_type="application/json")
    api.flush()
    text = "\n".join(r.getMessage() + str(vars(r)) for r in caplog.records)
    for canary in ("canary-ua", "canary-body", "81.2.69.142"):
        assert canary not in text
