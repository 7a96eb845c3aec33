"""Why an insert failed: the block's own fault, or the server's state.

ClickHouse names the fault with an error code (src/Common/ErrorCodes.cpp). Only the codes below say
that the rows themselves cannot be stored — a value that does not parse or fit its column, a row of
the wrong width — and only those set a segment aside (spool/quarantine/). Everything else is the
server's state or the way to it: TOO_MANY_PARTS while merges catch up, MEMORY_LIMIT_EXCEEDED,
NOT_ENOUGH_SPACE, a replica read-only while Keeper is away (TABLE_IS_READ_ONLY), timeouts, a refused
connection, a table missing while a migration runs. The segment is then kept and retried unchanged,
with the same deduplication token, for as long as it lasts: a busy server that still answers SELECTs
is not a reason to set acknowledged events aside.
"""

from __future__ import annotations

from clickhouse_connect.driver.exceptions import ClickHouseError

# The block is bad: the same rows are refused whatever the server's state.
BLOCK_CODES: dict[int, str] = {
    6: "CANNOT_PARSE_TEXT",
    7: "INCORRECT_NUMBER_OF_COLUMNS",
    8: "THERE_IS_NO_COLUMN",
    20: "NUMBER_OF_COLUMNS_DOESNT_MATCH",
    27: "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
    38: "CANNOT_PARSE_DATE",
    41: "CANNOT_PARSE_DATETIME",
    53: "TYPE_MISMATCH",
    72: "CANNOT_PARSE_NUMBER",
    117: "INCORRECT_DATA",
    321: "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    349: "CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN",
}
# Refusals of one segment naming the block itself before it is set aside: one is enough to know, but a
# migration changing a column while the insert runs can refuse a good block once.
BLOCK_REFUSALS = 3


class BlockRefused(Exception):
    """The store owner refused a worker's block because of the block itself (its answer 422 names the code)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the store refused the block: {BLOCK_CODES.get(code, code)}")
        self.code = code


def code_of(exc: BaseException) -> int | None:
    """ClickHouse's error code carried by `exc`, if any (clickhouse-connect sets `.code` from the
    X-ClickHouse-Exception-Code header, or from `Code: N.` on the embedded engine)."""
    if isinstance(exc, BlockRefused | ClickHouseError):
        code = getattr(exc, "code", None)
        return code if isinstance(code, int) else None
    return None


def block_code(exc: BaseException) -> int | None:
    """The code when `exc` says the block itself is bad (quarantine it); None for every other failure
    (the server's state, the network, the owner restarting: retry)."""
    code = code_of(exc)
    return code if code in BLOCK_CODES else None


def label(exc: BaseException) -> str:
    """A short, bounded name for a metric label and a log line: the ClickHouse error name (`TOO_MANY_PARTS`),
    `code_N` when the driver gave only the number, else the exception's type. Never the message (it may
    quote a row)."""
    code = code_of(exc)
    if code is None:
        return type(exc).__name__
    name = getattr(exc, "name", None) or BLOCK_CODES.get(code)
    return name if isinstance(name, str) and name.isidentifier() else f"code_{code}"
