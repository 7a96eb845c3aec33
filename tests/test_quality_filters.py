"""Counting people, not robots or echoes: referrer spam, duplicate sends, withdrawn ids, the bot breakdown.

One test per new drop reason (named test_reason_<reason>_...): the counter, the dropped_daily row, and
nothing stored. Everything runs on the real embedded store; the crash test kills a real collector process.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from conftest import IPHONE, event
from live import Collector

from collector.duplicates import EVENTS, Deduplicator, RecentKeys
from collector.event import Reason
from collector.referrers import SpamList, referrer_host
from collector.writer import TABLES, sum_drops

SPAM = "semalt.com\n# a comment line\n\nbuttons-for-website.com\nDARODAR.COM\n"
EVENT_ID = "0b7b3a46-1f0e-4b8e-a7a5-5f9f3d2c1e00"


def _only_dropped(api: Any, reason: Reason, n: int = 1, stored: int = 0) -> None:
    assert api.count() == stored
    assert api.collector.metrics.get("collector_events_dropped_total", reason=reason.value) == n
    assert api.rows(f"SELECT site, sum(events) FROM analytics.dropped_daily WHERE reason = '{reason.value}' "
                    "GROUP BY site") == [("test.example", n)]


# --- referrer spam ----------------------------------------------------------------------------------

def _spam_api(make_api: Any, tmp_path: Path) -> Any:
    path = tmp_path / "spammers.txt"
    path.write_text(SPAM)
    return make_api(referrer_spam_list=path)


@pytest.mark.reason("referrer_spam")
def test_reason_referrer_spam_counted_and_nothing_stored(make_api, tmp_path: Path) -> None:
    api = _spam_api(make_api, tmp_path)
    response = api.send(event(referrer="https://semalt.com/crawler?x=1"))
    assert response.json() == {"accepted": 0, "dropped": {"referrer_spam": 1}}
    _only_dropped(api, Reason.REFERRER_SPAM)


def test_reason_referrer_spam_covers_subdomains_and_nothing_else(make_api, tmp_path: Path) -> None:
    api = _spam_api(make_api, tmp_path)
    spam = ["https://www.semalt.com/", "http://a.b.Darodar.com.:8080/p", "https://user@buttons-for-website.com"]
    fine = ["https://notsemalt.com/", "https://semalt.com.example.org/", "https://news.example/semalt.com"]
    answer = api.send([event(referrer=r) for r in spam + fine]).json()
    assert answer == {"accepted": 3, "dropped": {"referrer_spam": 3}}
    _only_dropped(api, Reason.REFERRER_SPAM, n=3, stored=3)


def test_referrer_spam_list_version_is_in_metrics(make_api, tmp_path: Path) -> None:
    api = _spam_api(make_api, tmp_path)
    version = SpamList.load(tmp_path / "spammers.txt").version
    text = api.client.get("/metrics").text
    assert f'collector_list_entries_total{{list="referrer_spam",version="{version}"}} 3.0' in text
    assert 'collector_list_entries_total{list="bots_isbot",version="' in text


def test_no_list_drops_nothing(api) -> None:
    assert api.send(event(referrer="https://semalt.com/")).json()["accepted"] == 1


def test_referrer_host_parsing() -> None:
    assert referrer_host("https://User:pw@Sub.Example.COM.:443/a?b#c") == "sub.example.com"
    assert referrer_host("https://[2001:db8::1]/") == "" and referrer_host("not a url") == ""


# --- duplicate sends ----------------------------------------------------------------------------------

@pytest.mark.reason("duplicate")
def test_reason_duplicate_same_event_id_in_separate_requests(api) -> None:
    first = api.send(event(event_id=EVENT_ID))
    second = api.send(event(event_id=EVENT_ID))  # a retry: acknowledged like the first
    assert first.json() == second.json() == {"accepted": 1, "dropped": {}}
    _only_dropped(api, Reason.DUPLICATE, stored=1)
    assert api.rows("SELECT sum(views) FROM analytics.pages_daily") == [(1,)]  # the rollups count it once
    assert api.count("event_ids") == 1


def test_reason_duplicate_within_one_batch_and_across_sites(api) -> None:
    other = {"site": "country.example", "url": "https://country.example/"}
    api.send([event(event_id=EVENT_ID), event(event_id=EVENT_ID.upper()), event(**other, event_id=EVENT_ID)])
    assert api.rows("SELECT site, count() FROM analytics.events GROUP BY site ORDER BY site") == [
        ("country.example", 1), ("test.example", 1)]
    assert api.collector.metrics.get("collector_events_dropped_total", reason="duplicate") == 1


def test_events_without_an_id_are_never_deduplicated(api) -> None:
    api.send(event())
    api.send(event())
    assert api.count() == 2 and api.count("event_ids") == 0


def test_duplicate_after_a_restart_is_still_one_row(make_api, api) -> None:
    api.send(event(event_id=EVENT_ID))
    api.flush()
    again = make_api()  # a new collector on the same store: the window is rebuilt from event_ids
    again.send(event(event_id=EVENT_ID))
    assert again.count() == 1
    assert again.collector.metrics.get("collector_events_dropped_total", reason="duplicate") == 1


@pytest.mark.reason("duplicate")
def test_reason_duplicate_spool_replay_after_a_crash(tmp_path: Path) -> None:
    """SIGKILL while both copies wait in the spool (no flush before the kill): the replay stores one row
    and counts one duplicate; a third send after the restart is a duplicate too."""
    server = Collector(tmp_path, COLLECTOR_FLUSH_INTERVAL_MS="600000", COLLECTOR_FLUSH_ROWS="100000").start()
    body = orjson.dumps(event(event_id=EVENT_ID, url="https://test.example/crash"))
    headers = {"content-type": "application/json", "user-agent": IPHONE}
    for _ in range(2):
        assert httpx.post(f"{server.url}/api/event", content=body, headers=headers).status_code == 202
    server.kill()
    server.start()
    assert httpx.post(f"{server.url}/api/event", content=body, headers=headers).status_code == 202
    assert server.stop() == 0
    assert server.path_counts("/crash") == {"/crash": 1}
    drops = server.sql("SELECT sum(events) AS n FROM analytics.dropped_daily WHERE reason = 'duplicate'")
    assert int(drops[0]["n"]) == 2
    views = server.sql("SELECT sum(views) AS n FROM analytics.pages_daily WHERE path = '/crash'")
    assert int(views[0]["n"]) == 1


def test_replay_of_a_stored_segment_makes_the_same_decision(store, tmp_path: Path) -> None:
    """A crash after the insert but before the segment was removed: the replay finds the rows' keys in
    the rebuilt window, yet the decision kept beside the segment gives the same blocks, so the
    deduplication token drops them and the duplicate count is not doubled."""
    row = ["test.example", int(time.time()), "pageview", "", "test.example", "/r", "", "", "", "", "", {}, "", "",
           "", "", "", 0, "", "", "", "", "desktop", "anonymous", 7, 7, 0.0, 0.0, "", "", "", 0, 0, 0.0, "", "",
           "", "", {}, 30, 400, 0]
    keyed = orjson.dumps([*row, f"k:{EVENT_ID}"])
    tables = {EVENTS: b"\n".join([keyed, keyed])}
    sidecar = tmp_path / "1-abc.dup"
    token = uuid.uuid4().hex  # the segment name: unique forever, like the spool's

    def attempt() -> dict[str, bytes]:
        dedup = Deduplicator(store)
        dedup.rebuild()
        prepared = dedup.prepare(tables, sidecar, "2026-01-01", lambda site: 400)
        blocks = sum_drops(prepared.tables)
        for table, block in blocks.items():
            store.insert_rows(table, TABLES[table], block, f"{token}-{table}")
        return blocks

    assert attempt() == attempt()
    assert store.query("SELECT count() FROM analytics.events") == [(1,)]
    assert store.query("SELECT sum(events) FROM analytics.dropped_daily WHERE reason = 'duplicate'") == [(1,)]


# --- withdrawn ids ------------------------------------------------------------------------------------

VID = "browser-first-party-id-0042"
PAGE = {"origin": "https://test.example"}


def _consent(action: str, site: str = "test.example") -> dict[str, Any]:
    return event(site=site, url=f"https://{site}/", type="consent", action=action, categories=["analytics"],
                 consent={"analytics": action == "grant"}, vid=VID)


def test_withdrawn_id_is_stored_anonymous_also_after_a_restart(make_api, api) -> None:
    api.send(_consent("grant"), headers=PAGE)
    api.send(event(consent={"analytics": True}, vid=VID, url="https://test.example/before"))
    assert api.rows("SELECT tier FROM analytics.events") == [("full",)]
    api.send(_consent("withdraw"), headers=PAGE)
    api.collector.consent_worker.wait_idle()  # the erasure of the visitor's events
    # A tab still open sends with the old id and its old consent flag.
    api.send(event(consent={"analytics": True}, vid=VID, url="https://test.example/after"))
    assert api.rows("SELECT path, tier FROM analytics.events") == [("/after", "anonymous")]
    restarted = make_api()  # a new process: the set comes back from analytics.consent_receipts
    assert len(restarted.collector.ctx.withdrawn) == 1
    restarted.send(event(consent={"analytics": True}, vid=VID, url="https://test.example/restarted"))
    assert restarted.rows("SELECT path, tier FROM analytics.events ORDER BY path") == [
        ("/after", "anonymous"), ("/restarted", "anonymous")]


def test_withdrawn_id_on_a_strict_site_is_dropped(api) -> None:
    strict = {"site": "strict.example", "url": "https://strict.example/"}
    api.send(_consent("withdraw", "strict.example"), headers={"origin": "https://strict.example"})
    api.send(event(**strict, consent={"analytics": True}, vid=VID))
    assert api.count() == 0
    assert api.collector.metrics.get("collector_events_dropped_total", reason="consent_denied") == 1


def test_a_new_grant_after_a_withdrawal_is_full_again(api) -> None:
    api.send(_consent("withdraw"), headers=PAGE)
    api.collector.consent_worker.wait_idle()  # the erasure deletes by id: let it finish before re-granting
    api.send(_consent("grant"), headers=PAGE)
    api.send(event(consent={"analytics": True}, vid=VID))
    assert api.rows("SELECT tier FROM analytics.events") == [("full",)]


def test_the_withdrawn_set_holds_only_pseudonymous_ids(api) -> None:
    api.send(_consent("withdraw"), headers=PAGE)
    held = api.collector.ctx.withdrawn.ids  # the structure itself
    assert VID not in str(held) and all(isinstance(i, int) for ids in held.values() for i in ids)


def test_another_process_learns_a_withdrawal_on_its_beat(make_api, api) -> None:
    other = make_api()  # a second collector sharing the store, as in server mode
    api.send(_consent("withdraw"), headers=PAGE)
    api.flush()
    assert len(other.collector.ctx.withdrawn) == 0
    other.collector.consent_worker.tick()
    other.send(event(consent={"analytics": True}, vid=VID, url="https://test.example/other"))
    assert other.rows("SELECT tier FROM analytics.events") == [("anonymous",)]


# --- bot breakdown ------------------------------------------------------------------------------------

def test_bot_breakdown_by_category_and_family_never_the_user_agent(api) -> None:
    google = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    secret = f"my-private-crawler/{uuid.uuid4()}"
    for ua in (google, google, "curl/8.5.0", secret):
        api.send(event(), ua=ua)
    api.collector.consent_worker.tick()
    rows = api.rows("SELECT category, family, sum(events) FROM analytics.bots_daily GROUP BY ALL ORDER BY ALL")
    assert rows == [("library", "HTTP library", 1), ("other", "Other", 1), ("search", "Google", 2)]
    assert secret not in str(api.rows("SELECT * FROM analytics.bots_daily"))
    assert api.rows("SELECT sum(events) FROM analytics.dropped_daily WHERE reason = 'bot'") == [(4,)]


def test_server_mode_sees_keys_another_collector_stored(store) -> None:
    """Two writers on one store as in server mode or as embedded workers (not the sole writer: each looks
    the batch's keys up)."""

    class Server:
        sole_writer = False
        query = staticmethod(store.query)

    row = orjson.dumps(["test.example", int(time.time()), *([""] * 3), f"k:{EVENT_ID}"])
    first, second = Deduplicator(Server()), Deduplicator(Server())
    prepared = first.prepare({EVENTS: row}, None, "2026-01-01", lambda site: 400)
    store.insert_rows("analytics.event_ids", TABLES["analytics.event_ids"], prepared.tables["analytics.event_ids"],
                      uuid.uuid4().hex)
    again = second.prepare({EVENTS: row}, None, "2026-01-01", lambda site: 400)
    assert again.duplicates == {"test.example": 1} and again.tables[EVENTS] == b""


def test_embedded_mode_asks_the_table_once_memory_holds_less_than_the_window(store) -> None:
    """More keys within the hour than memory holds: the evicted ones are still found in event_ids."""

    def row(event_id: str) -> bytes:
        return orjson.dumps(["test.example", int(time.time()), *([""] * 3), f"k:{event_id}"])

    dedup = Deduplicator(store, window=RecentKeys(max_keys=1))
    ids = [str(uuid.uuid4()) for _ in range(2)]
    for event_id in ids:
        prepared = dedup.prepare({EVENTS: row(event_id)}, None, "2026-01-01", lambda site: 400)
        store.insert_rows("analytics.event_ids", TABLES["analytics.event_ids"], prepared.tables["analytics.event_ids"],
                          uuid.uuid4().hex)
        dedup.stored(prepared)
    assert dedup.window.saturated and len(dedup.window) == 1
    again = dedup.prepare({EVENTS: row(ids[0])}, None, "2026-01-01", lambda site: 400)
    assert again.duplicates == {"test.example": 1}
