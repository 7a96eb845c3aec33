"""The dashboard's one door to the numbers: the stats API (issue "SQL dashboards, part 2") called in
process as the logged-in user, so the dashboard shows exactly what POST /api/stats/query answers, with the
same small-cell suppression. Nothing here computes a number of its own."""

from __future__ import annotations

from typing import Any

from ..errors import ClientError, Kind
from .users import User

# Cards that are not a stats API dimension: dashboard queries of the read side.
CARDS = ("vitals", "tiers", "dropped")


def _unavailable(what: str) -> ClientError:
    return ClientError(Kind.UNAVAILABLE, "stats_unavailable", f"{what}: the stats API is not part of this build yet")


def query(collector: Any, user: User, body: dict[str, Any]) -> dict[str, Any]:
    """The stats API's answer to `body` for `user` (a ClientError for a bad query)."""
    raise _unavailable("query")


def sites(collector: Any, user: User, readable: list[str]) -> list[dict[str, Any]]:
    """The sites `user` may read, each with the date of its first event (None when it has none)."""
    return [{"site_id": site, "first_event": None} for site in readable]


def realtime(collector: Any, user: User, site: str) -> dict[str, Any]:
    raise _unavailable("realtime")


def card(collector: Any, user: User, name: str, site: str, date_range: Any, filters: Any,
         sub: str) -> dict[str, Any]:
    raise _unavailable(name)


def heatmap(collector: Any, user: User, site: str, page: str, width: int | None, date_range: Any) -> dict[str, Any]:
    raise _unavailable("heatmap")
