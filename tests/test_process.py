"""The roles of `serve --workers N`: who appends to which spool, and who drains the spools nobody appends to."""

from __future__ import annotations

from pathlib import Path

from collector.process import ONE_PROCESS, OWNER, SERVER, WORKER, Process
from collector.settings import Settings


def _spools(settings: Settings, *names: str) -> None:
    for name in names:
        (settings.data_dir / "spool" / name).mkdir(parents=True)


def test_every_ingest_process_has_its_own_spool(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    dirs = {Process(role, i, 3).spool_dir(settings) for role in (WORKER, SERVER) for i in range(3)}
    assert len(dirs) == 3  # one per index: a worker-K and a server-K never run in the same collector
    assert ONE_PROCESS.spool_dir(settings) == Process(OWNER, 0, 3).spool_dir(settings) == tmp_path / "spool"
    assert all(d.parent == tmp_path / "spool" for d in dirs)


def test_spools_nobody_appends_to_are_drained_by_exactly_one_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    _spools(settings, "worker-0", "worker-1", "worker-2")
    assert [p.name for p in ONE_PROCESS.orphan_spools(settings)] == ["worker-0", "worker-1", "worker-2"]
    assert [p.name for p in Process(OWNER, 0, 2).orphan_spools(settings)] == ["worker-2"]
    assert Process(WORKER, 0, 2).orphan_spools(settings) == []
    (settings.data_dir / "spool" / "0000000000000001-abc.seg").write_bytes(b"")
    assert [p.name for p in Process(SERVER, 0, 2).orphan_spools(settings)] == ["spool", "worker-2"]
    assert Process(SERVER, 1, 2).orphan_spools(settings) == []
