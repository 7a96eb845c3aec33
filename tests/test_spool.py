"""The spool on its own: group commit, sealing, the size cap, torn records and replay after a restart."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
from writes import files_written

from collector.segments import SUFFIX, frame, records
from collector.spool import Spool, SpoolFull


def spool(directory: Path | None, **kw: object) -> Spool:
    opts: dict[str, object] = {"max_bytes": 1 << 20, "max_rows": 10_000, "seal_rows": 1_000, "seal_interval_s": 60}
    opts.update(kw)
    return Spool(directory, **opts)  # type: ignore[arg-type]


def drain(s: Spool) -> list[bytes]:
    """Seal, then take every sealed segment's payloads in order, removing them."""
    s.seal()
    out = []
    while (seg := s.oldest(timeout_s=0)) is not None:
        out += records(seg.read())[0]
        s.remove(seg)
    return out


def test_append_is_acknowledged_only_once_on_disk(tmp_path: Path) -> None:
    s = spool(tmp_path)
    s.append(b"t\t[1]\n", 1).result(timeout=5)
    files = list(tmp_path.glob("*" + SUFFIX))
    assert len(files) == 1 and records(files[0].read_bytes())[0] == [b"t\t[1]\n"]
    s.close()


def test_one_fsync_covers_many_concurrent_requests(tmp_path: Path) -> None:
    s = spool(tmp_path)
    futures: list[Future[int]] = []
    lock = threading.Lock()

    def send() -> None:
        for i in range(50):
            f = s.append(b"t\t[%d]\n" % i, 1)
            with lock:
                futures.append(f)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for f in futures:
        f.result(timeout=10)
    assert len(futures) == 400
    assert s.commits < len(futures)  # group commit: fewer fsyncs than acknowledged requests
    assert len(drain(s)) == 400
    s.close()


def test_seals_by_rows_and_names_are_unique(tmp_path: Path) -> None:
    s = spool(tmp_path, seal_rows=3)
    for i in range(7):
        s.append(b"t\t[%d]\n" % i, 1).result(timeout=5)
    s.seal()
    names = []
    while (seg := s.oldest(timeout_s=0)) is not None:
        names.append((seg.seq, seg.name, seg.rows))
        s.remove(seg)
    assert sum(rows for _, _, rows in names) == 7 and len(names) >= 3
    assert [seq for seq, _, _ in names] == sorted(seq for seq, _, _ in names)
    assert len({name for _, name, _ in names}) == len(names)
    assert not list(tmp_path.glob("*" + SUFFIX))  # removed segments leave no file
    s.close()


def test_size_cap_refuses_instead_of_acknowledging(tmp_path: Path) -> None:
    s = spool(tmp_path, max_bytes=100)
    s.append(b"x" * 60, 1).result(timeout=5)
    with pytest.raises(SpoolFull):
        s.append(b"x" * 60, 1)
    assert s.size_bytes == len(frame(b"x" * 60))
    s.close()


def test_row_cap_and_closing_refuse(tmp_path: Path) -> None:
    s = spool(None, max_rows=2)
    s.append(b"a\n", 1)
    with pytest.raises(SpoolFull):
        s.append(b"b\nc\n", 2)
    s.close()
    with pytest.raises(SpoolFull):
        s.append(b"d\n", 1)


def test_restart_replays_segments_and_cuts_a_torn_record(tmp_path: Path) -> None:
    s = spool(tmp_path)
    s.append(b"t\t[1]\n", 1).result(timeout=5)
    s.append(b"t\t[2]\n", 1).result(timeout=5)
    path = next(tmp_path.glob("*" + SUFFIX))
    with open(path, "ab") as f:  # a crash in the middle of a record the client never saw acknowledged
        f.write(frame(b"t\t[3]\n")[:-3])
    # the process dies here: nothing is closed or sealed
    again = spool(tmp_path)
    assert again.recovered == (1, 2)
    seg = again.oldest(timeout_s=0)
    assert seg is not None and seg.name == path.name[: -len(SUFFIX)]  # the same name, so the same token
    assert records(seg.read()) == ([b"t\t[1]\n", b"t\t[2]\n"], path.stat().st_size)
    again.append(b"t\t[4]\n", 1).result(timeout=5)
    assert drain(again) == [b"t\t[1]\n", b"t\t[2]\n", b"t\t[4]\n"]
    again.close()
    s.close()


def test_corrupt_record_is_not_replayed(tmp_path: Path) -> None:
    good, bad = frame(b"t\t[1]\n"), bytearray(frame(b"t\t[2]\n"))
    bad[-2] ^= 0xFF  # flipped bits: the CRC no longer matches
    (tmp_path / ("0000000000000007-abc" + SUFFIX)).write_bytes(good + bad)
    s = spool(tmp_path)
    assert s.recovered == (1, 1)
    assert drain(s) == [b"t\t[1]\n"]
    s.append(b"t\t[9]\n", 1).result(timeout=5)
    assert min(int(p.name.split("-")[0]) for p in tmp_path.glob("*" + SUFFIX)) == 8  # numbering continues
    s.close()


def test_memory_mode_writes_nothing_to_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with files_written() as written:  # any path, from any thread (the spool thread included)
        s = spool(None, seal_rows=2)
        assert s.append(b"t\t[1]\n", 1).done()
        s.append(b"t\t[2]\n", 1).result(timeout=5)  # the second row seals a segment
        assert drain(s) == [b"t\t[1]\n", b"t\t[2]\n"]
        s.close()
    assert written == [] and list(tmp_path.iterdir()) == []


def test_the_write_check_sees_a_durable_spool(tmp_path: Path) -> None:
    """The check above can fail: the same steps on a spool given a directory are reported."""
    with files_written() as written:
        s = spool(tmp_path / "elsewhere", seal_rows=2)
        s.append(b"t\t[1]\n", 1).result(timeout=5)
        s.close()
    assert any(str(tmp_path / "elsewhere") in w for w in written)


def test_age_seals_a_quiet_segment(tmp_path: Path) -> None:
    s = spool(tmp_path, seal_interval_s=0.01)
    s.append(b"t\t[1]\n", 1).result(timeout=5)
    seg = s.oldest(timeout_s=10)
    assert seg is not None and seg.rows == 1
    s.close()


def test_a_request_that_gave_up_does_not_stop_the_spool(tmp_path: Path) -> None:
    s = spool(tmp_path)
    s._cond.acquire()  # hold the commit back so the caller can give up first (a client disconnect)
    first = s.append(b"t\t[1]\n", 1)
    assert first.cancel()
    s._cond.release()
    s.append(b"t\t[2]\n", 1).result(timeout=10)  # the spool thread survived the cancelled future
    assert drain(s) == [b"t\t[1]\n", b"t\t[2]\n"]  # written anyway; only the answer was lost
    s.close()
