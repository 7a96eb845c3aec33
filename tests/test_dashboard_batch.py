"""The dashboard's one-round first view (collector/read/dashboard_batch.py): each item answers exactly what its
own route answers, as the logged-in user (suppressed for a read user), an item's error stays in its item,
and the batch keeps the session, CSRF and site rules of the routes it stands for."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import orjson
from conftest import Api, event
from test_dashboard import TOKEN, csrf_of, login, settings  # noqa: F401  (the reader's sites config)

QUERY = {"site_id": "test.example", "metrics": ["visitors", "pageviews"], "date_range": "7d",
         "dimensions": ["event:page"], "pagination": {"limit": 10}}
CARD = {"card": "tiers", "site_id": "test.example", "date_range": "7d"}


def batch(api: Api, items: list[dict[str, Any]], **headers: str) -> Any:
    return api.client.post("/dashboard/api/batch", json={"items": items},
                           headers={"x-csrf-token": csrf_of(api), **headers})


def test_each_item_answers_what_its_own_route_answers(make_api: Callable[..., Api]) -> None:
    api = make_api()
    pages = [event(url=f"https://test.example/p{i % 3}", vid=f"visitor-{i:014d}", consent={"analytics": True})
             for i in range(12)]
    assert api.send(pages).status_code == 202
    api.flush()
    for user, password in (("reader", "reader-pass"), ("admin", TOKEN)):
        api.client.cookies.clear()
        login(api, user, password)
        r = batch(api, [{"query": QUERY}, {"card": CARD}, {"realtime": {"site_id": "test.example"}}])
        assert r.status_code == 200
        answers = r.json()["answers"]
        assert [a["status"] for a in answers] == [200, 200, 200]
        alone = api.client.post("/dashboard/api/query", json=QUERY, headers={"x-csrf-token": csrf_of(api)}).json()
        assert answers[0]["body"] == alone
        assert answers[1]["body"] == api.client.get("/dashboard/api/card", params=CARD).json()
        assert answers[2]["body"] == api.client.get("/dashboard/api/realtime?site_id=test.example").json()
    # The admin sees the three pages of 4 visitors; the reader (k = 5) only their fold.
    assert len(answers[0]["body"]["results"]) == 3
    api.client.cookies.clear()
    login(api)
    folded = batch(api, [{"query": QUERY}]).json()["answers"][0]["body"]["results"]
    # 12 visitors and pageviews, released with the site's consistent cell-key noise (at most 3 either way)
    assert [row["dimensions"] for row in folded] == [["(other)"]]
    assert all(abs(metric - 12) <= 3 for metric in folded[0]["metrics"])


def test_an_items_error_is_its_own_and_the_batch_keeps_the_routes_rules(api: Api) -> None:
    items = [{"query": QUERY}]
    assert api.client.post("/dashboard/api/batch", json={"items": items}).status_code == 401
    login(api)
    for headers in ({"x-csrf-token": ""}, {"x-csrf-token": "forged"}):
        r = api.client.post("/dashboard/api/batch", json={"items": items}, headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "csrf"
    r = batch(api, [{"query": {**QUERY, "metrics": ["nope"]}}, {"query": {**QUERY, "site_id": "other.example"}},
                    {"card": {**CARD, "site_id": "other.example"}}, {"card": {**CARD, "card": "nope"}},
                    {"realtime": {"site_id": "other.example"}}, {"realtime": []}, {"query": QUERY}])
    assert r.status_code == 200
    assert [a["status"] for a in r.json()["answers"]] == [400, 400, 403, 400, 403, 400, 200]
    for body in ({}, {"items": []}, {"items": [{"query": QUERY}] * 25}, {"items": [{"sql": "SELECT 1"}]},
                 {"items": [{"query": QUERY, "card": CARD}]}, [1]):
        r = api.client.post("/dashboard/api/batch", json=body, headers={"x-csrf-token": csrf_of(api)})
        assert r.status_code == 400 and r.json()["error"] in ("invalid_batch", "invalid_json"), body
    r = api.client.post("/dashboard/api/batch", content=b"{nope", headers={"x-csrf-token": csrf_of(api)})
    assert r.status_code == 400


def test_the_answer_is_gzipped_for_clients_that_accept_it(api: Api) -> None:
    login(api, "admin", TOKEN)
    items = [{"query": {**QUERY, "dimensions": ["time:day"], "pagination": {"limit": 100}}}] * 6
    r = api.client.post("/dashboard/api/batch", json={"items": items},
                        headers={"x-csrf-token": csrf_of(api), "accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.headers["cache-control"] == "no-store"
    assert len(r.json()["answers"]) == 6  # the client decodes it
    raw = api.client.stream("POST", "/dashboard/api/batch", json={"items": items},
                            headers={"x-csrf-token": csrf_of(api), "accept-encoding": "gzip"})
    with raw as response:
        body = b"".join(response.iter_raw())
    assert orjson.loads(gzip.decompress(body))["answers"][0]["status"] == 200
    plain = api.client.post("/dashboard/api/batch", json={"items": items[:1]},
                            headers={"x-csrf-token": csrf_of(api), "accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_the_items_of_one_view_share_one_read_of_the_store_facts(store: Any) -> None:
    """Inside `answer.one_moment` (a batch) the facts a query plan needs are read once per site and reader;
    outside it every answer reads them afresh."""
    import datetime as dt

    from collector import config as config_mod
    from collector.read import answer, query

    config = config_mod.parse({"sites": {"test.example": {"domains": ["test.example"]}}})
    today = dt.datetime.now(dt.UTC).date()  # the marker below must be inside its TTL
    q = query.parse({"site_id": "test.example", "metrics": ["visitors"], "date_range": "7d"}, today)
    closed = today - dt.timedelta(days=2)
    close = ("INSERT INTO analytics.visits_closed (site, day, visit_count, retention_days) "
             f"VALUES ('test.example', '{closed.isoformat()}', 0, 400)")
    with answer.one_moment():
        first = answer.context(store, config, q, today, admin=True)
        store.command(close)  # a day closes during the view
        assert answer.context(store, config, q, today, admin=True) is first
        assert first.closed_through is None
    assert answer.context(store, config, q, today, admin=True).closed_through == closed


def test_facts_are_kept_a_moment_unless_this_process_changes_the_store(store: Any) -> None:
    """Outside a batch the facts are kept for FACTS_TTL_S, and read again after anything this process ran
    on the store's connection (a closer round, a day closed, a purge); raw event inserts change no fact."""
    import datetime as dt

    from collector import config as config_mod
    from collector.read import answer, query

    config = config_mod.parse({"sites": {"test.example": {"domains": ["test.example"]}}})
    today = dt.datetime.now(dt.UTC).date()
    q = query.parse({"site_id": "test.example", "metrics": ["visitors"], "date_range": "7d"}, today)
    first = answer.context(store, config, q, today, admin=True)
    store.insert_rows("analytics.events", ["site", "ts", "type", "visitor_id", "retention_days"],
                      b'["test.example", "2026-01-01 00:00:00", "pageview", 1, 30]\n', "facts-test")
    assert answer.context(store, config, q, today, admin=True) is first  # at most a second old
    closed = today - dt.timedelta(days=2)
    store.command("INSERT INTO analytics.visits_closed (site, day, visit_count, retention_days) "
                  f"VALUES ('test.example', '{closed.isoformat()}', 0, 400)")
    assert answer.context(store, config, q, today, admin=True).closed_through == closed
    stricter = config_mod.parse({"sites": {"test.example": {"domains": ["test.example"], "retention_days": 9}}})
    assert answer.context(store, stricter, q, today, admin=True).raw_days == 9  # another config: never old facts
