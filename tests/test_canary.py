"""Canary scan: a real collector process takes a mixed workload from canary client addresses (documentation
ranges and real addresses of the packaged GeoLite2 DB) with a canary user agent — every event type, every
consent tier, opt-out signals, the pixel, error messages quoting the address, a crash with rows in the
spool and their replay, a restart, data-subject exports over HTTP and the CLI — then every byte under its
data dir (ClickHouse parts and their decompressed column blocks, system tables, spool, salts, temp files)
and every line it wrote to stdout/stderr is searched for every canary form: 0 hits. Scanning a planted
leak proves the scan can fail.

ClickHouse parts are searched raw and, block by block, decompressed (LZ4/ZSTD); the only columns whose
blocks stay encoded are the Delta/T64 numeric ones (ts, engaged_ms), which hold no text.
"""

from __future__ import annotations

import ipaddress
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import lz4.block
import orjson
import zstandard
from live import Collector

from collector.rights import visitor_id

MARKER = "CanaryUA-7f3e9b2c51"
CANARY_UA = f"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 {MARKER}"
CANARY_IPS = ["203.0.113.77", "203.0.113.201", "2001:db8::77", "2001:db8:5:6::beef",
              "81.2.69.142", "128.101.101.101"]
TOKEN = "canary-admin-token"
VID = "canaryvisitor0123456789"


def needles(ips: list[str] = CANARY_IPS, ua: str = CANARY_UA) -> dict[bytes, str]:
    """Every form a canary could take on disk: text, packed (both byte orders), IPv4 as decimal UInt32."""
    out: dict[bytes, str] = {ua.encode(): "user agent", MARKER.encode(): "user agent marker"}
    for text in ips:
        ip = ipaddress.ip_address(text)
        out[text.encode()] = f"{text} as text"
        out[ip.exploded.encode()] = f"{text} expanded"
        out[ip.packed] = f"{text} packed"
        out[ip.packed[::-1]] = f"{text} packed little-endian"
        if ip.version == 4:
            out[str(int(ip)).encode()] = f"{text} as decimal UInt32"
        else:
            out[ip.exploded.replace(":", "").encode()] = f"{text} as hex"
    return out


_METHODS = {0x02: "none", 0x82: "lz4", 0x90: "zstd", 0x91: "multiple"}


def ch_blocks(data: bytes) -> Iterator[bytes]:
    """The decompressed contents of a ClickHouse compressed file (16-byte checksum, 9-byte header,
    payload, repeated); stops quietly at the first thing that is not such a block."""
    pos = 0
    while pos + 25 <= len(data):
        method, csize, dsize = struct.unpack_from("<BII", data, pos + 16)
        if method not in _METHODS or csize < 9 or pos + 16 + csize > len(data) or dsize > 1 << 30:
            return
        yield from _decode(data[pos + 16: pos + 16 + csize])
        pos += 16 + csize


def _decode(block: bytes) -> Iterator[bytes]:
    method, _, dsize = struct.unpack_from("<BII", block, 0)
    payload = block[9:]
    try:
        if method == 0x02:
            yield payload
        elif method == 0x82:
            yield lz4.block.decompress(payload, uncompressed_size=dsize)
        elif method == 0x90:
            yield zstandard.ZstdDecompressor().decompress(payload, max_output_size=dsize)
        elif method == 0x91:  # a codec chain: the last codec's block is nested after the method list
            yield from _decode(payload[1 + payload[0]:])
    except Exception:  # an encoding we cannot undo (Delta, T64): scanned as stored
        yield payload


def scan(paths: list[Path], forms: dict[bytes, str]) -> list[str]:
    """'file: form' for every canary form found in any file under `paths`, raw or decompressed."""
    hits = []
    files = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*"))) if f.is_file()]
    for f in files:
        raw = f.read_bytes()
        views = [raw, *ch_blocks(raw)]
        for needle, what in forms.items():
            if any(needle in view for view in views):
                hits.append(f"{f}: {what}")
    return hits


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
    slow = Collector(tmp_path, COLLECTOR_FLUSH_INTERVAL_MS="600000", **env).start()  # rows stay in the spool
    workload(slow, 0)
    slow.kill()  # a crash with rows in the spool: scan it as the crash left it, then replay it
    spool_hits = scan([slow.data_dir], needles())
    assert list((slow.data_dir / "spool").glob("*.seg")), "the crash left no spool to replay"
    server = Collector(tmp_path, COLLECTOR_FLUSH_INTERVAL_MS="50", **env).start()
    workload(server, 1)
    assert server.stop() == 0  # a restart
    server.start()
    workload(server, 2)
    secret = bytes.fromhex((server.data_dir / "secret.key").read_text().strip())
    visitor = visitor_id(secret, "test.example", VID)
    auth = {"authorization": f"Bearer {TOKEN}"}
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
    (tmp_path / "cli.log").write_text(cli.stdout + cli.stderr + exported.text + self_service.text)
    everything = [server.data_dir, *server.logs]
    hits = scan(everything, needles())
    files = sum(1 for p in server.data_dir.rglob("*") if p.is_file())
    print(f"canary scan: {files} files under the data dir + {len(server.logs)} logs, "
          f"{len(needles())} needles, hits={len(hits) + len(spool_hits)}")
    assert spool_hits == [] and hits == [], "\n".join(spool_hits + hits)
    # The scan can fail: a leak planted under the data dir, in a form only the packed search sees, is found.
    (server.data_dir / "clickhouse" / "tmp_leak.bin").write_bytes(b"\x00" + ipaddress.ip_address("81.2.69.142").packed)
    assert scan(everything, needles()) == [f"{server.data_dir / 'clickhouse' / 'tmp_leak.bin'}: 81.2.69.142 packed"]


def test_scanner_finds_every_form_even_inside_compressed_parts(tmp_path: Path) -> None:
    forms = needles()
    plain = tmp_path / "plain.log"
    plain.write_bytes(b"client=" + str(int(ipaddress.ip_address("203.0.113.77"))).encode())
    tail = MARKER.split("-")[1].encode()
    content = tail + b"." * 16 + MARKER.encode() + b"_" * 32  # the marker's tail is a back-reference once compressed
    block = lz4.block.compress(content, store_size=False)
    header = struct.pack("<BII", 0x82, 9 + len(block), len(content))
    part = tmp_path / "part" / "ua.bin"
    part.parent.mkdir()
    part.write_bytes(b"\x00" * 16 + header + block)
    z = zlib.compress(b"2001:db8::77")  # compressed, but not in ClickHouse's format: not claimed as found
    (tmp_path / "other.z").write_bytes(z)
    hits = scan([tmp_path], forms)
    assert f"{plain}: 203.0.113.77 as decimal UInt32" in hits
    assert f"{part}: user agent marker" in hits
    assert MARKER.encode() not in part.read_bytes()  # found only by decompressing the block
