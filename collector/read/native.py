"""Native at a client's protocol revision, from the engine's revision-0 Native.

chDB writes Native as ClickHouse does for revision 0: per block the column and row counts, then per column
its name, type and data. A ClickHouse server answering an HTTP request with `client_protocol_version` N > 0
writes each block with the block-info prefix (`01 00 02 ff ff ff ff 00`: field 1 is_overflows = 0, field 2
bucket_num = -1, end), and from revision 54454 one custom-serialization byte (0) after each column's type.
clickhouse-connect (revision 54405) reads the prefix; clickhouse-go (Grafana's driver) reads both.

Revision 0 already writes LowCardinality as its dictionary type, so the column data itself is the same at
every revision; only the framing changes. Finding each column's end needs its type: the types a dashboard
reads are skipped here, and a column of any other type (AggregateFunction states, Variant, Dynamic, JSON) is
refused with NOT_IMPLEMENTED rather than framed wrongly.
"""

from __future__ import annotations

import re

from .errors import SqlError

BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"
REVISION_WITH_BLOCK_INFO = 1
REVISION_WITH_CUSTOM_SERIALIZATION = 54454
# The newest revision whose Native framing we write; a client asking for more gets this one's framing.
SERVER_REVISION = 54479

_FIXED = {"UInt8": 1, "Int8": 1, "Bool": 1, "Enum8": 1, "UInt16": 2, "Int16": 2, "Enum16": 2, "Date": 2,
          "BFloat16": 2, "UInt32": 4, "Int32": 4, "Float32": 4, "Date32": 4, "DateTime": 4, "IPv4": 4,
          "Decimal32": 4, "UInt64": 8, "Int64": 8, "Float64": 8, "DateTime64": 8, "Decimal64": 8, "Time": 4,
          "Time64": 8, "UInt128": 16, "Int128": 16, "UUID": 16, "IPv6": 16, "Decimal128": 16, "UInt256": 32,
          "Int256": 32, "Decimal256": 32, "Nothing": 1}
_DECIMAL_WIDTH = ((9, 4), (18, 8), (38, 16), (76, 32))
_NAMED_ELEMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s+(?=[A-Z])")


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self) -> int:
        shift = value = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise SqlError(1001, "truncated Native block from the engine")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def uint64s(self, n: int) -> int:
        """Skip n UInt64 offsets; the last one (0 when n is 0)."""
        chunk = self.take(8 * n)
        return int.from_bytes(chunk[-8:], "little") if n else 0


def split_type(name: str) -> tuple[str, list[str]]:
    """`Map(String, Array(UInt8))` -> ("Map", ["String", "Array(UInt8)"]); quotes and nesting respected."""
    head, paren, rest = name.partition("(")
    if not paren:
        return name.strip(), []
    args, depth, quote, start = [], 0, "", 0
    body = rest[:rest.rstrip().rfind(")")]
    for i, ch in enumerate(body):
        if quote:
            if ch == "\\":
                continue
            if ch == quote and (i == 0 or body[i - 1] != "\\"):
                quote = ""
        elif ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(body[start:i].strip())
            start = i + 1
    args.append(body[start:].strip())
    return head.strip(), args


def _skip(reader: _Reader, type_name: str, rows: int) -> None:
    """Advance past `rows` values of `type_name` in Native's bulk serialization."""
    if rows == 0:
        return
    head, args = split_type(type_name)
    if head in _FIXED:
        reader.take(_FIXED[head] * rows)
    elif head == "String":
        for _ in range(rows):
            length = reader.varint()
            reader.pos += length
        if reader.pos > len(reader.data):
            raise SqlError(1001, "truncated Native block from the engine")
    elif head == "FixedString":
        reader.take(int(args[0]) * rows)
    elif head == "Decimal":
        precision = int(args[0])
        reader.take(next(w for p, w in _DECIMAL_WIDTH if precision <= p) * rows)
    elif head == "Nullable":
        reader.take(rows)
        _skip(reader, args[0], rows)
    elif head == "LowCardinality":  # flags, the block's keys (of the dictionary type), the row count, indexes
        flags = reader.uint64s(1)
        dictionary = args[0]
        if dictionary.startswith("Nullable("):
            dictionary = split_type(dictionary)[1][0]
        _skip(reader, dictionary, reader.uint64s(1))
        reader.take(reader.uint64s(1) * (1 << (flags & 0xFF)))
    elif head == "Array":
        _skip(reader, args[0], reader.uint64s(rows))
    elif head == "Map":
        nested = reader.uint64s(rows)
        _skip(reader, args[0], nested)
        _skip(reader, args[1], nested)
    elif head == "Tuple":
        for element in args:
            _skip(reader, _NAMED_ELEMENT.sub("", element, count=1), rows)
    elif head.startswith("Interval"):
        reader.take(8 * rows)
    elif head in ("SimpleAggregateFunction",):
        _skip(reader, args[-1], rows)
    else:
        raise SqlError(48, f"Native at a protocol revision is not implemented for columns of type {head}; "
                           "read it with -Merge or toString(), or without client_protocol_version")


def _prefix_bytes(type_name: str) -> int:
    """The bulk-state prefix written before a column's data: a UInt64 key version per LowCardinality."""
    head, args = split_type(type_name)
    own = 8 if head == "LowCardinality" else 0
    if head in ("LowCardinality", "Enum8", "Enum16", "DateTime", "DateTime64", "Decimal", "FixedString"):
        return own
    return own + sum(_prefix_bytes(_NAMED_ELEMENT.sub("", a, count=1)) for a in args)


def at_revision(data: bytes, revision: int) -> bytes:
    """The engine's revision-0 Native `data` framed as a server writes it for `revision` (0: unchanged)."""
    if revision <= 0 or not data:
        return data
    reader, out = _Reader(data), bytearray()
    custom = revision >= REVISION_WITH_CUSTOM_SERIALIZATION
    while reader.pos < len(data):
        start = reader.pos
        columns, rows = reader.varint(), reader.varint()
        out += BLOCK_INFO
        out += data[start:reader.pos]
        for _ in range(columns):
            name_start = reader.pos
            name_len = reader.varint()
            reader.pos += name_len
            type_len = reader.varint()
            type_name = reader.take(type_len).decode()
            out += data[name_start:reader.pos]
            if custom:
                out.append(0)
            data_start = reader.pos
            if rows:
                reader.take(_prefix_bytes(type_name))
            _skip(reader, type_name, rows)
            out += data[data_start:reader.pos]
    return bytes(out)
