"""Salt destruction, end to end (acceptance e): after an injected clock moves three days on, the first
day's salt bytes exist nowhere under the data directory or the store, and a visitor's hash changed daily."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from conftest import event

DAY = 86400


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def found_anywhere(salt: bytes, roots: list[Path]) -> list[Path]:
    needles = (salt, salt.hex().encode(), salt.hex().upper().encode())
    hits = []
    for path in files_under(*roots):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(n in data for n in needles):
            hits.append(path)
    return hits


def store_root(store: Any) -> Path:
    data_path = store.query("SELECT data_paths[1] FROM system.tables WHERE database = 'analytics' AND name = 'events'")
    return Path(data_path[0][0].split("/store/")[0])


def salt_of_today(api: Any, clock: Any) -> bytes:
    return api.collector.ctx.salts.held()[int(clock.now // DAY)]


def test_first_days_salt_is_gone_after_three_days_and_hashes_differ(make_api, settings, store, clock,
                                                                    caplog) -> None:
    caplog.set_level(logging.DEBUG)
    api = make_api()
    roots = [settings.data_dir, store_root(store)]
    api.send(event())
    first = salt_of_today(api, clock)
    api.flush()
    hits = found_anywhere(first, [settings.data_dir])
    assert [p.parent for p in hits] == [settings.data_dir / "salts"]  # persisted for restarts, in one file
    for _ in range(3):
        clock.advance(DAY)
        api.send(event())  # the same browser, from the same address, once a day
    api.flush()
    hashes = [r[0] for r in api.rows("SELECT visitor_id FROM analytics.events ORDER BY ts")]
    assert len(hashes) == 4 and len(set(hashes)) == 4  # a new visitor every day: no stable id
    assert found_anywhere(first, roots) == []
    assert first not in api.collector.ctx.salts.held().values()
    assert len(list((settings.data_dir / "salts").iterdir())) == 2  # today's and yesterday's only
    assert first.hex() not in caplog.text


def test_a_quiet_collector_destroys_old_salts_on_its_housekeeping_beat(make_api, settings, clock) -> None:
    api = make_api()
    api.send(event())
    first = salt_of_today(api, clock)
    clock.advance(3 * DAY)  # no event arrives for three days
    api.collector.consent_worker.tick()  # what the worker thread runs every HOUSEKEEPING_S
    assert found_anywhere(first, [settings.data_dir]) == []
    assert len(api.collector.ctx.salts.held()) == 2
