"""Canary scan: a real collector process takes a mixed workload from canary client addresses (documentation
ranges and real addresses of the packaged GeoLite2 DB) with a canary user agent — every event type, every
consent tier, opt-out signals, the pixel, error messages quoting the address, a crash with rows in the
spool and their replay, a restart, data-subject exports over HTTP and the CLI — then every byte under its
data dir (ClickHouse parts and their decoded column blocks, system tables, spool and its quarantine, salts,
temp files) and every line any process wrote (the crashed one, the restarted one, the CLI) is searched for
every canary form: 0 hits.

The scan can fail, and these tests show it: the crashed process's own log line is found after the restart;
canaries written by the engine itself into ZSTD, LZ4, Delta + ZSTD and chained-codec columns, into the
engine's system.query_log, and into a quarantined spool segment are found; a block that cannot be decoded
fails the scan instead of passing it. The scanner is tests/canaries.py.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from canaries import CANARY_IPS, CANARY_UA, MARKER, ScanError, needles, scan
from live import Collector, wait_for

from collector.metrics import Metrics
from collector.pseudonyms import visitor_id
from collector.spool import Spool
from collector.store import Store
from collector.writer import Writer, encode

TOKEN = "canary-admin-token"
VID = "canaryvisitor0123456789"
CRASH_SITE = "crashcanary-4d1e.example"  # a site name the crashed process itself logs before it dies


def post(server: Collector, events: list[dict[str, object]], ip: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/event", content=orjson.dumps(events), timeout=30,
                      headers={"content-type": "text/plain", "user-agent": CANARY_UA, "x-forwarded-for": ip,
                               **headers})


def every_type(site: str, consent: dict[str, bool], vid: bool, ip: str) -> list[dict[str, object]]:
    base: dict[str, object] = {"site": site, "url": f"https://{site}/canary?utm_source=c&x=1", "consent": consent,
                               "referrer": "https://elsewhere.example/r"}
    if vid:
        base |= {"vid": VID, "sid": "canarysession01"}
    extra: list[dict[str, object]] = [
        {"type": "pageview"}, {"type": "click", "kind": "heatmap", "x": 0.5, "y": 0.25, "tag": "a"},
        {"type": "click", "kind": "outbound", "link": "out.example"}, {"type": "engagement", "engaged_ms": 1200},
        {"type": "session_end", "engaged_ms": 5000, "scroll": 80}, {"type": "custom", "name": "signup",
                                                                     "props": {"plan": "pro"}},
        {"type": "form", "form": "contact", "field": "email", "action": "submit"},
        {"type": "error", "message": f"fetch http://[{ip}]/ and {ip} failed", "source": "cdn.example"},
        {"type": "vital", "name": "LCP", "value": 1234.5}, {"type": "exposure", "experiment": "e1", "variant": "b"},
        {"type": "consent", "action": "grant", "categories": ["analytics"]},
    ]
    return [base | e for e in extra]


def workload(server: Collector, round_: int) -> int:
    accepted = 0
    for i, ip in enumerate(CANARY_IPS):
        for site, consent, vid, headers in [
            ("test.example", {"analytics": True}, True, {}),       # full tier
            ("test.example", {}, False, {}),                        # anonymous
            ("strict.example", {"analytics": False}, False, {}),   # denied
            ("signals.example", {}, False, {"sec-gpc": "1"}),       # a signal decides
            ("signals.example", {}, False, {"dnt": "1"}),
        ]:
            r = post(server, every_type(site, consent, vid, ip), ip, origin=f"https://{site}", **headers)
            assert r.status_code == 202, r.text
            accepted += r.json()["accepted"]
        pixel = httpx.get(f"{server.url}/api/event.gif", params={"site": "test.example", "url":
                          f"https://test.example/px{round_}{i}"}, headers={"user-agent": CANARY_UA,
                                                                          "x-forwarded-for": ip})
        assert pixel.status_code == 200
    return accepted


def test_no_canary_reaches_disk_or_logs(tmp_path: Path) -> None:
    env = {"COLLECTOR_TRUSTED_PROXIES": "127.0.0.1", "COLLECTOR_ADMIN_TOKEN": TOKEN, "COLLECTOR_LOG_LEVEL": "DEBUG",
           "COLLECTOR_SHUTDOWN_DRAIN_MS": "0"}
    auth = {"authorization": f"Bearer {TOKEN}"}
    slow = Collector(tmp_path, COLLECTOR_FLUSH_INTERVAL_MS="600000", **env).start()  # rows stay in the spool
    # The process about to crash writes a line of its own (a purge logs the site's name; it flushes the
    # writer, so it comes before the workload whose rows must stay in the spool).
    purged = httpx.post(f"{slow.url}/admin/purge", params={"site": CRASH_SITE}, headers=auth, timeout=60)
    assert purged.status_code == 200, purged.text
    wait_for(lambda: CRASH_SITE in (tmp_path / f"stderr-{slow.run}.log").read_text(), 30, "the purge's log line")
    workload(slow, 0)
    slow.kill()  # a crash with rows in the spool: scan it as the crash left it, then replay it
    crashed_log = (tmp_path / f"stderr-{slow.run}.log").read_bytes()
    spool_hits = scan([slow.data_dir], needles()).hits
    assert list((slow.data_dir / "spool").glob("*.seg")), "the crash left no spool to replay"
    server = Collector(tmp_path, COLLECTOR_FLUSH_INTERVAL_MS="50", **env).start()  # another object, same root
    workload(server, 1)
    assert server.stop() == 0  # a restart
    server.start()
    workload(server, 2)
    secret = bytes.fromhex((server.data_dir / "secret.key").read_text().strip())
    visitor = visitor_id(secret, "test.example", VID)
    exported = httpx.get(f"{server.url}/admin/dsar/export", params={"site": "test.example", "visitor": visitor},
                         headers=auth, timeout=60)
    assert exported.status_code == 200 and exported.json()["events"]
    self_service = httpx.post(f"{server.url}/api/visitor/export", timeout=60, content=orjson.dumps(
        {"site": "test.example", "vid": VID}), headers={"content-type": "application/json",
                                                        "x-forwarded-for": CANARY_IPS[0], "user-agent": CANARY_UA})
    assert self_service.status_code == 200
    assert server.stop() == 0
    cli = server.cli("dsar", "export", "--site", "test.example", "--visitor", str(visitor))
    assert cli.returncode == 0 and orjson.loads(cli.stdout)["events"]
    counted = server.sql("SELECT count() AS n FROM analytics.events")[0]["n"]
    assert int(counted) > 0
    (tmp_path / "http.log").write_text(exported.text + self_service.text)
    # Every process's logs are kept: the crashed one's is untouched, and one pair per process exists.
    logs = sorted(tmp_path.glob("*.log"))
    assert {p.name for p in logs} >= {"stdout-1.log", "stderr-1.log", "stderr-2.log", "stderr-3.log", "cli.log"}
    assert (tmp_path / "stderr-1.log").read_bytes() == crashed_log
    everything = [server.data_dir, *logs]
    result = scan(everything, needles())
    print(f"canary scan: {result.files} files ({result.blocks} compressed blocks decoded, {len(result.opaque)} "
          f"T64 blocks left encoded), {len(logs)} logs, {len(needles())} needles, "
          f"hits={len(result.hits) + len(spool_hits)}")
    assert spool_hits == [] and result.hits == [], "\n".join(spool_hits + result.hits)
    assert result.blocks > 0
    # The scan can fail: the crashed process's own line is found in its log, after two restarts and the CLI.
    crash_hits = scan(everything, {CRASH_SITE.encode(): "crash canary"}).hits
    assert crash_hits == [f"{tmp_path / 'stderr-1.log'}: crash canary"]
    # ... and a leak planted under the data dir, in a form only the packed search sees, is found.
    leak = server.data_dir / "clickhouse" / "tmp_leak.raw"
    leak.write_bytes(b"\x00" + ipaddress.ip_address("81.2.69.142").packed)
    assert scan(everything, needles()).hits == [f"{leak}: 81.2.69.142 packed"]


def test_scanner_finds_every_form_in_plain_files(tmp_path: Path) -> None:
    forms = needles()
    plain = tmp_path / "plain.log"
    plain.write_bytes(b"client=" + str(int(ipaddress.ip_address("203.0.113.77"))).encode() + b" ::ffff:81.2.69.142")
    packed = tmp_path / "packed.raw"
    packed.write_bytes(b"\x01" + ipaddress.ip_address("::ffff:203.0.113.201").packed + b"\x02")
    hits = scan([tmp_path], forms).hits
    assert f"{plain}: 203.0.113.77 as decimal UInt32" in hits
    assert f"{plain}: 81.2.69.142 as v4-mapped IPv6" in hits
    assert f"{packed}: 203.0.113.201 packed as v4-mapped IPv6" in hits


# -- canaries the engine itself writes: one scratch table, one column per codec ------------------------

def split(secret: str) -> str:
    """The secret in two halves, then whole: compressors store the whole one as back-references to the
    halves, so its bytes are on disk only encoded (a short value alone would be stored as a literal)."""
    half = len(secret) // 2
    return f"{secret[:half]}~{secret[half:]}~{secret}~" + "." * 16


CODECS = {  # column: (type, codec, value holding a canary, the form the scan must report)
    "zstd": ("String", "ZSTD(1)", split(CANARY_UA), "user agent"),
    "lz4": ("String", "LZ4", split(ipaddress.ip_address("2001:db8:5:6::beef").exploded),
            "2001:db8:5:6::beef expanded"),
    "delta_zstd": ("UInt32", "Delta(4), ZSTD(1)", int(ipaddress.ip_address("81.2.69.142")),
                   "81.2.69.142 packed little-endian"),
    "chain": ("String", "LZ4, ZSTD(3)", split("2001:db8::77"), "2001:db8::77 as text"),
}
FILLER = {"zstd": "nothing here", "lz4": "nothing here", "delta_zstd": 1000, "chain": "nothing here"}


@pytest.fixture
def scratch_table(store: Store) -> Iterator[tuple[Store, Path]]:
    """A table in a scratch database of the session store with one column per codec, a filler row and a
    canary row inserted by the engine (two rows, so Delta stores a difference, never the canary itself)."""
    store.command("DROP DATABASE IF EXISTS canary_scratch SYNC")
    store.command("CREATE DATABASE canary_scratch")
    columns = ", ".join(f"{name} {typ} CODEC({codec})" for name, (typ, codec, _, _) in CODECS.items())
    store.command(f"CREATE TABLE canary_scratch.t (k UInt32, {columns}) ENGINE = MergeTree ORDER BY k "
                  "SETTINGS min_bytes_for_wide_part = 0, min_rows_for_wide_part = 0",
                  settings={"allow_suspicious_codecs": 1})  # LZ4 then ZSTD: a chain of two codecs
    rows = [[1, *FILLER.values()], [2, *(value for _, _, value, _ in CODECS.values())]]
    store.client.insert("canary_scratch.t", rows, column_names=["k", *CODECS])
    store.command("OPTIMIZE TABLE canary_scratch.t FINAL")  # one part holding both rows
    path = Path(store.query("SELECT data_paths[1] FROM system.tables WHERE database = 'canary_scratch' "
                            "AND name = 't'")[0][0])
    yield store, path
    store.command("DROP DATABASE canary_scratch SYNC")
    assert not path.exists()


@pytest.mark.parametrize("column", list(CODECS))
def test_scan_finds_a_canary_the_engine_wrote_in_each_codec(scratch_table: tuple[Store, Path], column: str) -> None:
    store, path = scratch_table
    typ, codec, _, form = CODECS[column]
    assert store.query("SELECT compression_codec FROM system.columns WHERE database = 'canary_scratch' "
                       "AND table = 't' AND name = {c:String}", {"c": column})[0][0].startswith("CODEC(")
    files = [f for f in path.rglob(f"{column}.bin") if "tmp" not in f.parent.name]
    assert files, f"no part file for {column}"
    found = scan(files, needles()).hits
    assert any(hit.endswith(f": {form}") for hit in found), (codec, found)
    for f in files:  # the canary is in the file only encoded: only decoding finds it
        assert not any(needle in f.read_bytes() for needle, what in needles().items() if what == form)


def test_a_block_that_does_not_decode_fails_the_scan(scratch_table: tuple[Store, Path], tmp_path: Path) -> None:
    _, path = scratch_table
    source = next(f for f in path.rglob("zstd.bin") if "tmp" not in f.parent.name).read_bytes()
    broken = bytearray(source)
    broken[16 + 9 + 4] ^= 0xFF  # inside the ZSTD frame header: this block can no longer be read
    (tmp_path / "zstd.bin").write_bytes(bytes(broken))
    with pytest.raises(ScanError, match="did not decode"):
        scan([tmp_path], needles())
    (tmp_path / "zstd.bin").write_bytes(source + b"\x00" * 7)  # not a clean sequence of blocks
    with pytest.raises(ScanError, match="trailing bytes"):
        scan([tmp_path], needles())


QUERY_LOG = """
import sys, chdb
conn = chdb.connect(f"{sys.argv[1]}?config-file={sys.argv[2]}&log_queries=1")
cursor = conn.cursor()
cursor.execute(f"SELECT '{sys.argv[3]}' FORMAT Null")  # the canary, split as in CODECS
cursor.execute("SYSTEM FLUSH LOGS")
conn.close()
"""


def test_scan_finds_a_canary_in_the_engines_system_log_tables(tmp_path: Path) -> None:
    """chDB keeps no system.*_log tables unless configured to; here a store with system.query_log on
    logs a query quoting the canary, and the scan finds it in that table's compressed part."""
    config = tmp_path / "logs.xml"
    config.write_text("<clickhouse><query_log><database>system</database><table>query_log</table>"
                      "</query_log></clickhouse>")
    data = tmp_path / "clickhouse"
    data.mkdir()
    run = subprocess.run([sys.executable, "-c", QUERY_LOG, str(data), str(config), split(MARKER)],
                         capture_output=True,
                         text=True, timeout=120, env={**os.environ})
    assert run.returncode == 0, run.stderr
    hits = scan([data], needles()).hits
    assert hits and all("/system/query_log/" in hit and hit.endswith(": user agent marker") for hit in hits), hits
    assert not any(MARKER.encode() in f.read_bytes() for f in (data / "data").rglob("*.bin"))


def test_scan_covers_the_spools_quarantine(store: Store, tmp_path: Path) -> None:
    """A segment the store refuses is moved to spool/quarantine by the real writer: a canary in it is found."""
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir, max_bytes=1 << 20, max_rows=1000, seal_rows=1000, seal_interval_s=60)
    payload, lines, _ = encode([("analytics.events", [CANARY_UA])], [], "2026-01-01", lambda s: 30)
    spool.append(payload, lines).result(timeout=5)
    spool.seal()
    spool.close()
    writer = Writer(store, Metrics(), Spool(spool_dir, max_bytes=1 << 20, max_rows=1000, seal_rows=1000,
                                            seal_interval_s=60), drop_retention=lambda s: 30, retry_max_s=0.05)
    writer.start()
    assert writer.drain(timeout_s=60)
    writer.close()
    quarantined = list((spool_dir / "quarantine").iterdir())
    assert quarantined
    assert scan([spool_dir], needles()).hits == [f"{quarantined[0]}: {what}" for what in ("user agent",
                                                                                         "user agent marker")]
