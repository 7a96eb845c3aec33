"""The spool's on-disk format: segments of CRC-framed records, and their recovery after a crash.

A record is `<length u32><crc32 u32><payload>`; its payload holds `table<TAB>JSON row` lines. A
segment file is named `<seq>-<epoch>.seg`, the name unique forever, so it doubles as the
deduplication token of its inserts.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("collector.spool")
FRAME = struct.Struct("<II")  # payload length, crc32 of the payload
SUFFIX = ".seg"


@dataclass(frozen=True, slots=True)
class Segment:
    """A sealed, immutable run of records; `name` is unique forever and is the deduplication token."""

    seq: int
    name: str
    rows: int
    size: int
    path: Path | None = None
    data: bytes = b""
    # The records' rows as one block per table, kept in memory by the process that wrote them (the
    # writer inserts these without parsing a line); None for a segment replayed from disk.
    blocks: dict[str, bytes] | None = None

    def read(self) -> bytes:
        return self.path.read_bytes() if self.path is not None else self.data


@dataclass(slots=True)
class OpenSegment:
    """The segment records are appended to; `parts` keeps their rows per table for the writer."""

    seq: int
    name: str
    opened_at: float
    file: BinaryIO | None = None
    chunks: list[bytes] = field(default_factory=list)
    parts: dict[str, list[bytes]] | None = field(default_factory=dict)  # None once a record came without
    rows: int = 0
    size: int = 0

    def add_parts(self, parts: Mapping[str, bytes] | None) -> None:
        if parts is None or self.parts is None:
            self.parts = None
            return
        for table, block in parts.items():
            self.parts.setdefault(table, []).append(block)


def frame(payload: bytes) -> bytes:
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def records(data: bytes) -> tuple[list[bytes], int]:
    """The payloads of the whole, intact frames at the start of `data`, and how many bytes they span."""
    out, pos = [], 0
    while pos + FRAME.size <= len(data):
        length, crc = FRAME.unpack_from(data, pos)
        end = pos + FRAME.size + length
        if end > len(data) or zlib.crc32(data[pos + FRAME.size:end]) != crc:
            break
        out.append(data[pos + FRAME.size:end])
        pos = end
    return out, pos


def recover(directory: Path) -> list[Segment]:
    """Every segment an earlier process left in `directory`, oldest first, each cut after its last
    intact record (a torn write was never acknowledged); empty ones are removed."""
    found = []
    for path in sorted(directory.glob("*" + SUFFIX)):
        data = path.read_bytes()
        payloads, valid = records(data)
        if valid < len(data):
            with open(path, "r+b") as f:
                f.truncate(valid)
                os.fsync(f.fileno())
            log.warning("spool: cut a torn record", extra={"segment": path.name, "bytes": len(data) - valid})
        rows = sum(p.count(b"\n") for p in payloads)
        if not rows:
            path.unlink()
            continue
        found.append(Segment(int(path.name.split("-", 1)[0]), path.name[: -len(SUFFIX)], rows, valid, path))
    return found


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
