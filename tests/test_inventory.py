"""The privacy inventory is the schema: every stored column in the engine is in it and nothing else is,
and its retention is what the engine itself computes for the site's settings (acceptance f)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import event
from live import wait_for

from collector import config as config_mod
from collector import inventory, visits, visits_open
from collector.read import card_lists, suppress

SITE = "ret.example"
CONFIG = f"""
[sites."{SITE}"]
domains = ["{SITE}"]
retention_days = 7
rollup_retention_days = 400
receipt_retention_days = 500
policy_version = "p9"

[sites."test.example"]
domains = ["test.example"]
"""


@pytest.fixture
def site_api(make_api, tmp_path: Path) -> Any:
    path = tmp_path / "ret.toml"
    path.write_text(CONFIG)
    return make_api(config_path=path)


def fill_every_table(api: Any) -> None:
    url = f"https://{SITE}/p"
    api.send([event(site=SITE, url=url, consent={"analytics": True}, vid="browser-first-party-0001",
                    event_id="6f1c1a52-3c1e-4b7e-9a53-2f0c8d1e7a10"),  # fills event_ids
              event(site=SITE, url=url, type="engagement", engaged_ms=1000, scroll=10),
              event(site=SITE, url=url, type="vital", name="LCP", value=900.0),
              event(site=SITE, url=url, type="custom", name="signup"),
              event(site=SITE, url=url, type="consent", action="grant", categories=["analytics"],
                    consent={"analytics": True}, vid="browser-first-party-0001")])
    api.send(event(site=SITE, url=url, type="click", kind="heatmap", x=0.5, y=0.25, w=1280))
    api.send(event(site=SITE, url=url), ua="curl/8.0")  # a bot: fills dropped_daily
    api.collector.consent_worker.tick()  # writes the bot breakdown (bots_daily)
    api.flush()
    visits_open.update_open(api.store, api.collector.clock())  # the open day's visits reach visits_open
    # The day is closed: its visits reach the visit rollups.
    visits.close_due(api.store, api.collector.clock() + 3 * 86400, keep_days=lambda site: 400)
    card_lists.keep_ready(api.store, api.collector.config, api.collector.clock())  # the round's card lists


def columns_on_disk(store, table: str) -> set[str]:
    """The columns the engine wrote into the table's active parts, read from each part's columns.txt on
    disk: what is actually stored, independent of system.columns (which the inventory itself reads)."""
    names: set[str] = set()
    for (path,) in store.query("SELECT path FROM system.parts WHERE database = 'analytics' AND table = {t:String} "
                               "AND active", {"t": table}):
        names |= set(re.findall(r"^`([^`]+)` ", (Path(path) / "columns.txt").read_text(), re.M))
    return names


def test_every_stored_column_is_in_the_inventory_and_nothing_else(site_api, store) -> None:
    fill_every_table(site_api)
    inv = inventory.build(store, site_api.collector.config)
    for table in inv["tables"]:
        on_disk = columns_on_disk(store, table["table"])
        assert on_disk, f"{table['table']} holds no part: fill_every_table must write a row to it"
        assert {c["name"] for c in table["columns"]} == on_disk, table["table"]
        for column in table["columns"]:
            assert column["what"] and column["why"] and column["tiers"], (table["table"], column["name"])
    stored_tables = {name for (name,) in store.query("SELECT DISTINCT table FROM system.parts WHERE "
                                                     "database = 'analytics' AND active")}
    assert stored_tables <= {t["table"] for t in inv["tables"]}, "a table with data missing from the inventory"
    assert {t["table"] for t in inv["tables"]} >= {"events", "consent_receipts", "dropped_daily"}
    listed = {(v["view"], c) for v in inv["views"] for c in v["columns"]}
    # Materialized views feed a table; the read role's plain views (read_*) feed none.
    assert listed and {v["feeds"] for v in inv["views"] if v["feeds"]} <= {t["table"] for t in inv["tables"]}


def test_the_inventory_check_can_fail(site_api, store, monkeypatch) -> None:
    """An inventory that forgets a column (here: every comment-less read drops `city`) fails the check."""
    real = inventory.read_schema

    def forgetful(store):  # type: ignore[no-untyped-def]
        tables, views = real(store)
        return [replace(t, columns=tuple(c for c in t.columns if c.name != "city")) for t in tables], views

    monkeypatch.setattr(inventory, "read_schema", forgetful)
    with pytest.raises(AssertionError, match="geo_daily|events"):
        test_every_stored_column_is_in_the_inventory_and_nothing_else(site_api, store)


def test_retention_equals_the_ttl_the_engine_computes_for_the_sites_settings(site_api, store) -> None:
    fill_every_table(site_api)
    # site_privacy and cell_keys hold a row per configured site: keep only this site's, as every other table does.
    config = site_api.collector.config
    # The collector publishes every site's row once started (off the start-up path): wait for it, then
    # replace it with this site's alone.
    wait_for(lambda: store.query("SELECT uniqExact(site) FROM analytics.site_privacy")[0][0] == len(config.sites),
             30, "the published thresholds")
    store.command("TRUNCATE TABLE analytics.site_privacy")
    store.command("TRUNCATE TABLE analytics.cell_keys")
    suppress.publish_thresholds(store, config_mod.Config(sites={SITE: config.sites[SITE]}), site_api.collector.clock())
    inv = inventory.build(store, site_api.collector.config, SITE)
    expected = {"events": 7, "consent_receipts": 500, "pages_hourly": 35, "event_ids": 1, "visits_open": 7,
                "visits_watermark": 1, "page_windows": 7, "visits_open_daily": 1, "card_lists": 1}
    for table in inv["tables"]:
        name, days = table["table"], table["retention_days"][SITE]
        create = store.query(f"SELECT create_table_query FROM system.tables WHERE database = 'analytics' "
                             f"AND name = '{name}'")[0][0]
        time_column = re.search(r"\sTTL\s(\w+)\s", create).group(1)  # the TTL the engine reports
        engine_days = store.query(
            f"SELECT dateDiff('day', toDateTime((SELECT max({time_column}) FROM analytics.{name})), "
            f"max(delete_ttl_info_max)) FROM system.parts WHERE database = 'analytics' AND table = '{name}' "
            "AND active")[0][0]
        assert days == engine_days == expected.get(name, 400), name


def test_a_column_without_what_why_tiers_breaks_the_inventory() -> None:
    with pytest.raises(inventory.InventoryError, match=r"analytics.t.c: column comment"):
        inventory._column("t", "c", "String", "only a description")
    with pytest.raises(inventory.InventoryError):
        inventory._column("t", "c", "String", "what |  | all")


def test_markdown_reads_like_a_privacy_policy(site_api, store) -> None:
    text = inventory.markdown(inventory.build(store, site_api.collector.config, SITE))
    for heading in ("## Information we collect", "## How long we keep it", "## What we never collect",
                    "## Your rights"):
        assert heading in text
    assert "| Raw events after the privacy pipeline, kept for the site raw retention (`events`) | 7 days |" in text
    assert "500 days" in text and "IP address" in text and "Full user agent string" in text
    assert "`visitor_id`" in text and "policy version p9" in text
    assert "test.example" not in text  # one site's document


def test_http_inventory(site_api) -> None:
    r = site_api.client.get(f"/privacy/inventory?site={SITE}")
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    doc = r.json()
    assert list(doc["sites"]) == [SITE]
    assert {t["table"]: t["retention_days"][SITE] for t in doc["tables"]}["events"] == 7
    assert {n["what"] for n in doc["never_collected"]} >= {"IP address", "Full user agent string",
                                                           "Form field values"}
    md = site_api.client.get(f"/privacy/inventory?site={SITE}&format=markdown")
    assert md.headers["content-type"].startswith("text/markdown") and "## Your rights" in md.text
    assert set(site_api.client.get("/privacy/inventory").json()["sites"]) == {SITE, "test.example"}
    assert site_api.client.get("/privacy/inventory?site=nope.example").status_code == 404


def test_cli_inventory(tmp_path: Path) -> None:
    config = tmp_path / "sites.toml"
    config.write_text(CONFIG)
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(tmp_path / "data"), "COLLECTOR_CONFIG": str(config)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "collector", "inventory", *args], env=env, text=True,
                              capture_output=True, timeout=120)

    out = run("--site", SITE)
    assert out.returncode == 0, out.stderr
    doc = orjson.loads(out.stdout)
    assert {t["table"]: t["retention_days"][SITE] for t in doc["tables"]}["consent_receipts"] == 500
    md = run("--format", "markdown", "--site", SITE)
    assert md.returncode == 0 and md.stdout.startswith(f"# Analytics data we collect on {SITE}")
    bad = run("--site", "nope.example")
    assert bad.returncode == 2 and "nope.example" in bad.stderr


def test_the_config_module_is_the_only_source_of_site_settings() -> None:
    parsed = config_mod.parse({"sites": {SITE: {"receipt_retention_days": 500}}})
    assert inventory.setting_for("consent_receipts") == "receipt_retention_days"
    assert getattr(parsed.sites[SITE], inventory.setting_for("pages_daily")) == config_mod.DEFAULT_ROLLUP_DAYS
