"""Data-subject rights on the real engine: export exactly one visitor's rows, delete them with the engine's
proof, purge a site from every table (acceptance b and d), and the `collector dsar` command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import FIREFOX, LONDON_IP, analytics_tables, event
from live import wait_for

from collector import rights, visits, visits_open
from collector.pseudonyms import visitor_id
from collector.read import card_lists

A, B = "browser-first-party-000A", "browser-first-party-000B"
PAGE = {"origin": "https://test.example"}

def visit(vid: str, path: str = "/pricing", **fields: Any) -> dict[str, Any]:
    return event(url=f"https://test.example{path}?utm_source=news", consent={"analytics": True}, vid=vid,
                 sid="session-" + vid[-4:], **fields)

def grant(vid: str) -> dict[str, Any]:
    return event(type="consent", action="grant", categories=["analytics"], consent={"analytics": True}, vid=vid)

def two_visitors(api: Any) -> tuple[int, int]:
    """Two consented visitors on the same page, from the same city, with the same browser."""
    api.send([visit(A), visit(A, "/docs"), grant(A), visit(B), grant(B)], headers=PAGE)
    api.flush()
    secret = api.collector.ctx.secret
    return visitor_id(secret, "test.example", A), visitor_id(secret, "test.example", B)

@pytest.mark.both_modes  # also in server mode (conftest)
def test_export_holds_exactly_the_visitors_rows_and_no_ip_or_user_agent(api, store) -> None:
    a, b = two_visitors(api)
    doc = rights.export_visitor(store, "test.example", a, api.collector.clock())
    assert [(e["path"], e["visitor_id"], e["city"]) for e in doc["events"]] == [
        ("/pricing", str(a), "Willesden"), ("/docs", str(a), "Willesden")]
    assert [(r["action"], r["visitor_id"]) for r in doc["consent_receipts"]] == [("grant", str(a))]
    text = orjson.dumps(doc).decode()
    assert str(b) not in text
    for secret in (LONDON_IP, FIREFOX, A):
        assert secret not in text
    assert set(doc["events"][0]) == set(doc["fields"]["events"])  # every exported field is documented
    assert doc["fields"]["events"]["path"].startswith("Page path")

@pytest.mark.both_modes  # also in server mode (conftest)
def test_delete_reports_counts_and_the_engines_proof_then_export_is_empty(api, store) -> None:
    a, b = two_visitors(api)
    report = rights.delete_visitor(store, "test.example", a)
    assert report["deleted"] == {"events": 2, "consent_receipts": 1}
    assert report["verified"] is True
    for table in report["tables"]:
        assert table["remaining"] == 0
        assert table["mutation"]["is_done"] and table["mutation"]["parts_to_do"] == 0
        assert table["parts"]["older_than_mutation"] == 0 and table["parts"]["active"] >= 1
    doc = rights.export_visitor(store, "test.example", a, 0)
    assert doc["events"] == doc["consent_receipts"] == []
    assert len(rights.export_visitor(store, "test.example", b, 0)["events"]) == 1

def test_deleted_receipts_leave_the_disk(api, store) -> None:
    """The parts an erasure supersedes are removed from disk by the engine, not kept hidden. Shown on the
    receipts table; events is created with the same short old_parts_lifetime (001_events.sql)."""
    a, _ = two_visitors(api)
    parts = [r[0] for r in store.query(f"SELECT DISTINCT _part FROM analytics.consent_receipts WHERE visitor_id = {a}")]
    paths = [Path(r[0]) for r in store.query(
        "SELECT path FROM system.parts WHERE database = 'analytics' AND table = 'consent_receipts' "
        "AND has({p:Array(String)}, name)", {"p": parts})]
    assert paths and all(p.exists() for p in paths)
    assert rights.delete_visitor(store, "test.example", a)["verified"]
    deadline = time.monotonic() + 60  # old_parts_lifetime (5 s) plus the cleanup period (at most 5 s)
    while any(p.exists() for p in paths) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not any(p.exists() for p in paths)


def test_site_purge_empties_every_table_of_that_site_only(api, store) -> None:
    other = {"origin": "https://country.example"}
    for site, headers in (("test.example", PAGE), ("country.example", other)):
        url = f"https://{site}/"
        api.send([event(site=site, url=url, consent={"analytics": True}, vid=A,
                        event_id="6f1c1a52-3c1e-4b7e-9a53-2f0c8d1e7a10"),  # an event_ids row
                  event(site=site, url=url, type="vital", name="LCP", value=1200.0),
                  event(site=site, url=url, type="custom", name="signup"),
                  event(site=site, url=url, type="engagement", engaged_ms=3000, scroll=50),
                  event(site=site, url=url, type="consent", action="grant", categories=["analytics"],
                        consent={"analytics": True}, vid=A),
                  event(site=site, url=url, type="click", kind="heatmap", x=0.5, y=0.5, w=1280)], headers=headers)
        api.send(event(site=site, url=url), ua="curl/8.0", headers=headers)  # a bot: a dropped_daily row
    api.collector.consent_worker.tick()  # the bot breakdown: a bots_daily row
    api.flush()
    visits_open.update_open(store, api.collector.clock())  # the open day's visits reach visits_open
    visits.close_due(store, api.collector.clock() + 3 * 86400)  # the day's visits reach the visit rollups
    card_lists.keep_ready(store, api.collector.config, api.collector.clock())  # the round's card lists
    wait_for(lambda: store.query("SELECT count() FROM analytics.site_privacy WHERE site = 'country.example'")[0][0],
             30, "the published thresholds")
    tables = analytics_tables(store)

    def counts(site: str) -> dict[str, int]:
        return {t: store.query(f"SELECT count() FROM analytics.{t} WHERE site = '{site}'")[0][0] for t in tables}

    before = counts("test.example")
    assert all(before.values()), before  # the test really has rows of the site in every table
    kept = counts("country.example")
    report = rights.purge_site(store, "test.example")
    assert report["verified"] and report["deleted"] == before
    assert set(counts("test.example").values()) == {0}
    assert counts("country.example") == kept

@pytest.mark.parametrize(("raw", "ok"), [("42", True), (42, True), ("0", False), ("-1", False), ("x", False),
                                         (str(2**64), False), (True, False), (None, False)])
def test_visitor_ids_are_uint64(raw: Any, ok: bool) -> None:
    if ok:
        assert rights.parse_visitor(raw) == 42
    else:
        with pytest.raises(rights.RightsError, match="visitor"):
            rights.parse_visitor(raw)

def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "collector", *args], env=env, capture_output=True, text=True,
                          timeout=120)

def test_cli_dsar_export_then_delete_then_export(tmp_path: Path) -> None:
    insert = ("INSERT INTO analytics.events (site, ts, type, path, visitor_id, retention_days, rollup_retention_days) "
              "VALUES ('demo.example', now(), 'pageview', '/mine', 42, 30, 1098), "
              "('demo.example', now(), 'pageview', '/theirs', 43, 30, 1098)")
    assert _cli(tmp_path, "sql", insert).returncode == 0
    out = _cli(tmp_path, "dsar", "export", "--site", "demo.example", "--visitor", "42")
    assert out.returncode == 0, out.stderr
    assert [e["path"] for e in orjson.loads(out.stdout)["events"]] == ["/mine"]
    out = _cli(tmp_path, "dsar", "delete", "--site", "demo.example", "--visitor", "42")
    report = orjson.loads(out.stdout)
    assert out.returncode == 0 and report["verified"] and report["deleted"] == {"events": 1, "consent_receipts": 0}
    assert orjson.loads(_cli(tmp_path, "dsar", "export", "--site", "demo.example", "--visitor", "42").stdout)[
        "events"] == []
    bad = _cli(tmp_path, "dsar", "export", "--site", "demo.example")
    assert bad.returncode == 2 and "visitor" in bad.stderr and "Traceback" not in bad.stderr

def test_cli_dsar_purge(tmp_path: Path) -> None:
    insert = ("INSERT INTO analytics.events (site, ts, type, visitor_id, retention_days, rollup_retention_days) "
              "VALUES ('demo.example', now(), 'pageview', 1, 30, 1098), "
              "('other.example', now(), 'pageview', 2, 30, 1098)")
    assert _cli(tmp_path, "sql", insert).returncode == 0
    out = _cli(tmp_path, "dsar", "purge", "--site", "demo.example")
    assert out.returncode == 0 and orjson.loads(out.stdout)["verified"]
    left = _cli(tmp_path, "sql", "SELECT site, count() FROM analytics.events GROUP BY site")
    assert left.stdout.splitlines()[1:] == ["other.example\t1"]
