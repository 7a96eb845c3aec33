"""ClickHouse-style errors for the SQL door: one function from an exception to status, headers and body.

The body is ClickHouse's `Code: N. DB::Exception: message. (NAME)`, the code goes in
`X-ClickHouse-Exception-Code`, and the status follows ClickHouse's own mapping
(src/Server/HTTP/exceptionCodeToHTTPStatus.cpp) with one deliberate change: a file the engine cannot open
is a 500, never a 503, because clients retry 503 and our 503 means only "overloaded, retry later".
"""

from __future__ import annotations

import re

# Code -> name for the codes the door itself raises or maps to a status.
NAMES: dict[int, str] = {
    6: "CANNOT_PARSE_TEXT", 36: "BAD_ARGUMENTS", 46: "UNKNOWN_FUNCTION", 47: "UNKNOWN_IDENTIFIER",
    48: "NOT_IMPLEMENTED", 50: "UNKNOWN_TYPE", 53: "TYPE_MISMATCH", 60: "UNKNOWN_TABLE", 62: "SYNTAX_ERROR",
    63: "UNKNOWN_AGGREGATE_FUNCTION", 73: "UNKNOWN_FORMAT", 81: "UNKNOWN_DATABASE", 115: "UNKNOWN_SETTING",
    159: "TIMEOUT_EXCEEDED", 164: "READONLY", 194: "REQUIRED_PASSWORD", 202: "TOO_MANY_SIMULTANEOUS_QUERIES",
    271: "CANNOT_DECOMPRESS", 393: "QUERY_IS_TOO_LARGE", 456: "UNKNOWN_QUERY_PARAMETER",
    457: "BAD_QUERY_PARAMETER", 497: "ACCESS_DENIED", 516: "AUTHENTICATION_FAILED",
}
CODES = {name: code for code, name in NAMES.items()}

_BAD_REQUEST = {6, 25, 26, 27, 32, 33, 34, 35, 36, 38, 41, 42, 43, 44, 53, 62, 69, 70, 72, 117, 130, 131, 132,
                190, 271, 456, 457, 691}
_NOT_FOUND = {46, 47, 50, 60, 63, 73, 81, 115, 83}
_FORBIDDEN = {164, 192, 193, 497, 516}
_STATUS = {194: 401, 159: 408, 393: 413, 48: 501, 202: 503} | {c: 400 for c in _BAD_REQUEST} \
    | {c: 404 for c in _NOT_FOUND} | {c: 403 for c in _FORBIDDEN}

# On every refusal of the door's guard, never on the engine's own errors (its `readonly = 1` backstop included).
GUARD_HEADER = ("X-Collector-Guard", "refused")
_ENGINE_MESSAGE = re.compile(r"Code: (\d+)\. (?:DB::Exception: )?(.*)", re.S)
_TRAILING_NAME = re.compile(r"\s*\(([A-Z_]+)\)\s*(?:\(version [^)]*\))?\.?\s*$")
_NESTED = re.compile(r"^Code: \d+\. DB::Exception: ")


class SqlError(Exception):
    """An answer in ClickHouse's words: `code` is a ClickHouse error code, `message` its text."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.by_guard = False  # set when the door refused the statement before the engine ran it

    @property
    def name(self) -> str:
        return NAMES.get(self.code, "UNKNOWN_EXCEPTION")


def refused_by_guard(exc: SqlError) -> SqlError:
    """Mark `exc` as the door's own refusal: the statement never reached the engine."""
    exc.by_guard = True
    return exc


def denied(what: str) -> SqlError:
    return SqlError(497, f"Not enough privileges: {what}")


def from_engine(text: str) -> SqlError:
    """The engine's own error, as chDB reports it (sometimes nested once), kept whole."""
    match = _ENGINE_MESSAGE.search(text)
    if not match:
        return SqlError(1001, text.strip()[:2000] or "engine error")
    code, message = int(match.group(1)), _NESTED.sub("", match.group(2).strip())
    name = _TRAILING_NAME.search(message)
    if name:
        NAMES.setdefault(code, name.group(1))
        message = message[:name.start()]
    return SqlError(code, message.strip()[:4000])


def status_of(code: int) -> int:
    return _STATUS.get(code, 500)


def respond(exc: SqlError) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body for an error, as ClickHouse's HTTP handler writes them."""
    body = f"Code: {exc.code}. DB::Exception: {exc.message.rstrip('. ')}. ({exc.name})\n".encode("utf-8", "replace")
    headers = {"X-ClickHouse-Exception-Code": str(exc.code), "Content-Type": "text/plain; charset=UTF-8"}
    if exc.by_guard:
        headers[GUARD_HEADER[0]] = GUARD_HEADER[1]
    if exc.code == 194:
        headers["WWW-Authenticate"] = 'Basic realm="collector", charset="UTF-8"'
    return status_of(exc.code), headers, body
