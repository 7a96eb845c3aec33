"""The data the dashboard page reads, behind its session (gate.py); every number comes from the stats API's
own handlers, run as the logged-in user (suppressed for `read` users), through stats_bridge.py, or, for
the cards it has no dimension for, from the read side's dashboard queries (dashboard_cards.py).

    POST /dashboard/api/query      a stats API v2 query (CSRF header required)     -> the stats API answer
    POST /dashboard/api/batch      the queries, cards and realtime count of a view  -> their answers (one round)
    GET  /dashboard/api/sites      the sites this login may read, with their first event
    GET  /dashboard/api/realtime   ?site_id=                                       -> {"visitors": n}
    GET  /dashboard/api/card       ?card=vitals|tiers|dropped|sources&site_id=&date_range=&name=  -> stats-shaped rows
    GET  /dashboard/api/heatmap    ?site_id=&page=&width=&date_range=              -> grid cells
    GET  /dashboard/export.csv     ?q=<stats query JSON>&name=                     -> CSV, cells neutralised

GETs answer data only (SameSite=Strict keeps other sites' pages from sending the cookie, and CORS keeps
them from reading an answer); the one POST needs the session's CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..admin import error_response, json_response
from ..errors import ClientError, Kind
from . import dashboard_batch, dashboard_cards, stats_bridge
from .csv_export import to_csv
from .gate import Gate

MAX_QUERY_BYTES = 16 * 1024
MAX_BATCH_BYTES = 64 * 1024
Handler = Callable[[Request], Awaitable[Response]]


def _json(raw: str | bytes, what: str, limit: int = MAX_QUERY_BYTES) -> Any:
    if len(raw) > limit:
        raise ClientError(Kind.TOO_LARGE, "too_large", f"{what} is larger than {limit} bytes")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ClientError(Kind.INVALID, "invalid_json", f"{what} is not valid JSON") from None


def _site_of(query: Any) -> str:
    site = query.get("site_id") if isinstance(query, dict) else None
    if not isinstance(site, str):
        raise ClientError(Kind.INVALID, "invalid_query", "site_id: required, a string")
    return site


class Api:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.collector = gate.collector

    async def query(self, request: Request) -> Response:
        query = _json(await request.body(), "the body")
        session = self.gate.require(request, _site_of(query))
        return await stats_bridge.query(request, session.user)

    async def batch(self, request: Request) -> Response:
        return await dashboard_batch.batch(self.gate, request, _json(await request.body(), "the body", MAX_BATCH_BYTES))

    async def sites(self, request: Request) -> Response:
        session = self.gate.require(request)
        return await stats_bridge.sites(request, session.user)

    async def realtime(self, request: Request) -> Response:
        session = self.gate.require(request, request.query_params.get("site_id", ""))
        return await stats_bridge.realtime(request, session.user)

    async def card(self, request: Request) -> Response:
        return json_response(200, await self._card(request))

    async def _card(self, request: Request) -> dict[str, Any]:
        p = request.query_params
        session = self.gate.require(request, p.get("site_id", ""))
        if p.get("card", "") not in dashboard_cards.FILES:
            raise ClientError(Kind.INVALID, "invalid_card", f"card: one of {', '.join(dashboard_cards.FILES)}")
        return await run_in_threadpool(dashboard_cards.card, self.collector, session.user, p["card"], p["site_id"],
                                       p.get("date_range", "30d"), p.get("name", ""))

    async def heatmap(self, request: Request) -> Response:
        site = request.query_params.get("site_id", "")
        session = self.gate.require(request, site)
        if request.query_params.get("date_range", "30d") not in dashboard_cards.DATE_RANGES:
            raise ClientError(Kind.INVALID, "invalid_query",
                              "date_range: one of " + ", ".join(dashboard_cards.DATE_RANGES))
        status, answer = await stats_bridge.heatmap(request, session.user)
        if status == 200:
            answer["frame_src"] = self._frame_src(site, request.query_params.get("page", "/"))
        return json_response(status, answer)

    def _frame_src(self, site: str, page: str) -> str | None:
        """Where the page itself can be framed from: the demo site is served by this collector; another
        site by its first plain https domain (shown only if that site allows the collector to frame it)."""
        if not page.startswith("/"):
            return None
        if site == self.gate.demo_site:
            return page
        domains = [d for d in self.collector.config.sites[site].domains if "*" not in d and "." in d]
        return f"https://{domains[0]}{page}" if domains else None

    async def export(self, request: Request) -> Response:
        """A card as CSV: a stats query (`q`), or one of the dashboard-query cards (`card`, as /api/card)."""
        if "card" in request.query_params:
            answer = await self._card(request)
            dims = [request.query_params["card"]]
        else:
            raw = request.query_params.get("q", "")
            session = self.gate.require(request, _site_of(_json(raw, "q")))
            status, answer = await stats_bridge.query_json(request, session.user, raw.encode())
            if status != 200:
                return json_response(status, answer)
            dims = answer["query"]["dimensions"]
        metrics = answer["query"]["metrics"]
        rows = [[*r["dimensions"], *r["metrics"]] for r in answer["results"]]
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.query_params.get("name", "export"))[:60] or "export"
        return Response(to_csv([*dims, *metrics], rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                                 "Cache-Control": "no-store"})


def _guarded(handler: Handler) -> Handler:
    """Client errors (no session, CSRF, bad input) become their status with a JSON body, never a 500."""
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ClientError as exc:
            return error_response(exc)
    return run


def routes(gate: Gate) -> list[Route]:
    api = Api(gate)
    return [
        Route("/dashboard/api/query", _guarded(api.query), methods=["POST"]),
        Route("/dashboard/api/batch", _guarded(api.batch), methods=["POST"]),
        Route("/dashboard/api/sites", _guarded(api.sites), methods=["GET"]),
        Route("/dashboard/api/realtime", _guarded(api.realtime), methods=["GET"]),
        Route("/dashboard/api/card", _guarded(api.card), methods=["GET"]),
        Route("/dashboard/api/heatmap", _guarded(api.heatmap), methods=["GET"]),
        Route("/dashboard/export.csv", _guarded(api.export), methods=["GET"]),
    ]
