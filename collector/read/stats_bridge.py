"""The dashboard's one door to the numbers: the stats API's own handlers (collector/read/stats.py), called in
process for the logged-in user, so the page shows exactly what POST /api/stats/query and its companions
answer, with the same small-cell suppression and the same 4xx for bad input. Nothing here computes a number.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from . import stats
from .users import User

Handler = Callable[[Request], Awaitable[Response]]
# Viewport width buckets of the heatmap rollup (schemas/clickhouse/044_heatmap_daily_mv.sql), by lower bound.
WIDTHS = (("", "All widths"), ("320", "< 576 px"), ("576", "576-767 px"), ("768", "768-991 px"),
          ("992", "992-1199 px"), ("1200", "1200-1399 px"), ("1400", ">= 1400 px"))


async def call(handler: Handler, request: Request, user: User) -> Response:
    """`handler`'s answer to `request` as `user` (the session's), who never sent an API credential."""
    request.scope[stats.SESSION_READER] = user
    return await handler(request)


async def query(request: Request, user: User) -> Response:
    return await call(stats.stats_query, request, user)


async def query_json(request: Request, user: User, body: bytes) -> tuple[int, Any]:
    """The stats API's answer to the query `body`, sent from a GET (the CSV download): status and JSON."""
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    sub = Request({**request.scope, "method": "POST"}, receive)
    response = await call(stats.stats_query, sub, user)
    return response.status_code, orjson.loads(response.body)


async def sites(request: Request, user: User) -> Response:
    return await call(stats.sites, request, user)


async def realtime(request: Request, user: User) -> Response:
    return await call(stats.realtime, request, user)


async def heatmap(request: Request, user: User) -> tuple[int, Any]:
    response = await call(stats.heatmap_cells, request, user)
    answer = orjson.loads(response.body)
    if response.status_code == 200:
        answer["widths"] = [{"value": v, "label": label} for v, label in WIDTHS]
    return response.status_code, answer
