"""HTTP body compression for the SQL door, as ClickHouse's HTTP interface does it: request bodies in lz4
(frame), zstd, gzip, deflate or br by `Content-Encoding`; responses compressed per `Accept-Encoding` only when
the client sets `enable_http_compression=1`."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import brotli
import lz4.frame

from .errors import SqlError

try:  # Python 3.14 has zstd in the standard library; clickhouse-connect brings the backport before it
    from compression import zstd
except ImportError:  # pragma: no cover - depends on the interpreter
    from backports import zstd

# A decompressed request body larger than this is refused (a compression bomb costs us no memory).
MAX_BODY_BYTES = 256 * 1024 * 1024


def _zstd_bounded(data: bytes) -> bytes:
    out = zstd.ZstdDecompressor().decompress(data, max_length=MAX_BODY_BYTES + 1)
    return bytes(out)


def _zlib_bounded(wbits: int) -> Callable[[bytes], bytes]:
    def decompress(data: bytes) -> bytes:
        return zlib.decompressobj(wbits).decompress(data, MAX_BODY_BYTES + 1)
    return decompress


def _lz4_bounded(data: bytes) -> bytes:
    return bytes(lz4.frame.LZ4FrameDecompressor().decompress(data, max_length=MAX_BODY_BYTES + 1))


def _br_bounded(data: bytes) -> bytes:
    out = brotli.Decompressor()
    return bytes(out.process(data, output_buffer_limit=MAX_BODY_BYTES + 1))


_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _zlib_bounded(16 + zlib.MAX_WBITS), "x-gzip": _zlib_bounded(16 + zlib.MAX_WBITS),
    "deflate": _zlib_bounded(zlib.MAX_WBITS), "lz4": _lz4_bounded, "zstd": _zstd_bounded, "br": _br_bounded,
}
_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda b: gzip.compress(b, compresslevel=3), "deflate": lambda b: zlib.compress(b, 3),
    "lz4": lambda b: bytes(lz4.frame.compress(b)), "zstd": lambda b: bytes(zstd.compress(b)),
    "br": lambda b: bytes(brotli.compress(b, quality=4)),
}


def decode(body: bytes, encoding: str) -> bytes:
    """The request body without its `Content-Encoding`; a bad or unknown encoding is a 400."""
    encoding = encoding.strip().lower()
    if not encoding or encoding == "identity" or not body:
        return body
    decoder = _DECODERS.get(encoding)
    if decoder is None:
        raise SqlError(36, f"Unknown Content-Encoding '{encoding[:40]}' (supported: {', '.join(_DECODERS)})")
    try:
        data = decoder(body)
    except Exception:  # each library raises its own error type for a corrupt stream
        raise SqlError(271, f"Cannot decompress the request body as {encoding}") from None
    if len(data) > MAX_BODY_BYTES:
        raise SqlError(393, f"The decompressed request body is larger than {MAX_BODY_BYTES} bytes")
    return data


def choose(accept_encoding: str) -> str | None:
    """The first encoding the client accepts that we can write (ClickHouse takes the client's order)."""
    for item in accept_encoding.split(","):
        name = item.split(";")[0].strip().lower()
        if name in _ENCODERS:
            return name
    return None


def encode(body: bytes, encoding: str) -> bytes:
    return _ENCODERS[encoding](body)
