"""The canary scanner: every form a client address or user agent could take in bytes, and a search of
files for them that reads ClickHouse's compressed column files block by block, decoded.

ClickHouse files that hold compressed blocks (`*.bin` column and compact-part data, `*.cidx` primary
index, `*.cmrk*` marks) are sequences of [16-byte checksum][method, compressed size, decompressed size]
[payload]. The scanner undoes LZ4, ZSTD, Delta and codec chains (Delta + ZSTD, LZ4 + ZSTD, ...) and
searches every layer. A block it should read and cannot, or a file of that kind that is not a clean
sequence of blocks, raises `ScanError`: a scan never passes by skipping what it could not read.
T64 (integer columns only, `engaged_ms`) is the one codec left encoded; its blocks are counted in
`Scan.opaque` so a test can say where they are.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import lz4.block
import zstandard

MARKER = "CanaryUA-7f3e9b2c51"
CANARY_UA = f"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 {MARKER}"
CANARY_IPS = ["203.0.113.77", "203.0.113.201", "2001:db8::77", "2001:db8:5:6::beef",
              "81.2.69.142", "128.101.101.101"]

NONE, LZ4, ZSTD, MULTIPLE, DELTA, T64 = 0x02, 0x82, 0x90, 0x91, 0x92, 0x93
COMPRESSED_SUFFIXES = (".bin", ".cidx", ".cmrk", ".cmrk2", ".cmrk3", ".cmrk4")


class ScanError(Exception):
    """A file the scanner must read and could not: the scan proves nothing about it."""


def ip_forms(text: str) -> dict[bytes, str]:
    """An address as text, expanded, packed in both byte orders, as a decimal integer; IPv6 as bare
    hex; IPv4 also as its v4-mapped IPv6 forms."""
    ip = ipaddress.ip_address(text)
    out = {ip.exploded.encode(): f"{text} expanded", text.encode(): f"{text} as text",
           ip.packed: f"{text} packed", ip.packed[::-1]: f"{text} packed little-endian"}
    if ip.version == 4:
        out[str(int(ip)).encode()] = f"{text} as decimal UInt32"
        mapped = ipaddress.IPv6Address(f"::ffff:{text}")
        out[mapped.packed] = f"{text} packed as v4-mapped IPv6"
        out[f"::ffff:{text}".encode()] = f"{text} as v4-mapped IPv6"
        out[mapped.exploded.encode()] = f"{text} as v4-mapped IPv6, expanded"
        out[ip.packed.hex().encode()] = f"{text} as hex"
    else:
        out[ip.exploded.replace(":", "").encode()] = f"{text} as hex"
        out[str(int(ip)).encode()] = f"{text} as decimal UInt128"
    return out


def needles(ips: Iterable[str] = CANARY_IPS, ua: str = CANARY_UA, marker: str = MARKER) -> dict[bytes, str]:
    """Every form a canary could take on disk: the user agent and its marker, each address's forms."""
    out: dict[bytes, str] = {ua.encode(): "user agent", marker.encode(): "user agent marker"}
    for text in ips:
        out |= ip_forms(text)
    return out


@dataclass
class Scan:
    hits: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)  # "file: codec" of each block left encoded
    blocks: int = 0  # compressed blocks decoded
    files: int = 0


def ch_blocks(data: bytes, where: str = "", opaque: list[str] | None = None) -> Iterator[bytes]:
    """Every decoded layer of every block of a ClickHouse compressed file; `ScanError` unless the
    blocks tile the file exactly."""
    pos = 0
    while pos < len(data):
        if pos + 25 > len(data):
            raise ScanError(f"{where}: {len(data) - pos} trailing bytes are not a compressed block")
        _, csize, _ = struct.unpack_from("<BII", data, pos + 16)
        if csize < 9 or pos + 16 + csize > len(data):
            raise ScanError(f"{where}: a block at byte {pos} claims {csize} bytes")
        yield from decode(data[pos + 16: pos + 16 + csize], where, opaque)
        pos += 16 + csize


def decode(block: bytes, where: str = "", opaque: list[str] | None = None) -> Iterator[bytes]:
    """The decoded payload of one block (header included), and for codec chains every layer."""
    method, csize, dsize = struct.unpack_from("<BII", block, 0)
    payload = block[9:csize]
    try:
        if method == NONE:
            yield payload
        elif method == LZ4:
            yield lz4.block.decompress(payload, uncompressed_size=dsize)
        elif method == ZSTD:
            yield zstandard.ZstdDecompressor().decompress(payload, max_output_size=dsize)
        elif method == DELTA:
            yield _undelta(payload)
        elif method == MULTIPLE:
            # [n][n method bytes][the last codec's block, which decodes to the previous codec's block, ...]
            n = payload[0]
            layer = payload[1 + n:]
            for _ in range(n):
                decoded = list(decode(layer, where, opaque))
                yield from decoded
                layer = decoded[-1]
        elif method == T64:
            if opaque is not None:
                opaque.append(f"{where}: T64")
            yield payload
        else:
            raise ScanError(f"{where}: codec 0x{method:02x} is not one the scanner can read")
    except ScanError:
        raise
    except Exception as exc:
        raise ScanError(f"{where}: a 0x{method:02x} block did not decode ({type(exc).__name__}: {exc})") from exc


def _undelta(payload: bytes) -> bytes:
    """ClickHouse's Delta codec: [width][skip][skip raw bytes][little-endian differences]."""
    width, skip = payload[0], payload[1]
    head, body = payload[2:2 + skip], payload[2 + skip:]
    mask, total, out = (1 << (8 * width)) - 1, 0, bytearray(head)
    for i in range(0, len(body) - len(body) % width, width):
        total = (total + int.from_bytes(body[i:i + width], "little")) & mask
        out += total.to_bytes(width, "little")
    return bytes(out)


def files_under(paths: Iterable[Path]) -> list[Path]:
    return [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*"))) if f.is_file()]


def scan(paths: Iterable[Path], forms: dict[bytes, str]) -> Scan:
    """Every canary form in any file under `paths`, searched raw and, for ClickHouse's compressed
    files, in every decoded layer of every block."""
    result = Scan()
    for f in files_under(paths):
        raw = f.read_bytes()
        views = [raw]
        if f.name.endswith(COMPRESSED_SUFFIXES) and raw:
            layers = list(ch_blocks(raw, str(f), result.opaque))
            result.blocks += len(layers)
            views += layers
        result.files += 1
        for needle, what in forms.items():
            if any(needle in view for view in views):
                result.hits.append(f"{f}: {what}")
    return result
