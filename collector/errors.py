"""One error type for everything a client can get wrong; its kind maps to the HTTP status here, once."""

from __future__ import annotations

import enum


class Kind(enum.Enum):
    INVALID = 400
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404
    TOO_LARGE = 413
    UNSUPPORTED_MEDIA_TYPE = 415
    RATE_LIMITED = 429
    UNAVAILABLE = 503


class ClientError(Exception):
    """An answer to the client, never a bug. `detail` names the field and reason, never echoes input."""

    def __init__(self, kind: Kind, error: str, detail: str = "", retry_after_s: int | None = None) -> None:
        super().__init__(error)
        self.kind = kind
        self.error = error
        self.detail = detail
        self.retry_after_s = retry_after_s

    @property
    def status(self) -> int:
        return self.kind.value

    def body(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}
