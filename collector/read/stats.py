"""The stats API: `POST /api/stats/query` (Plausible Stats API v2-shaped), `GET /api/stats/realtime`
(visitors in the last 5 minutes), `GET /api/stats/sites` (the sites a reader may read, with their first
day of data) and `GET /api/stats/heatmap` (click cells of one page).

Any user of the sites config (HTTP basic) or the admin token (bearer) may read; a user limited to some
sites sees only those. Non-admin answers are small-cell suppressed (collector/read/suppress.py) and their
counts perturbed (collector/read/cellkey.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import orjson
from clickhouse_connect.driver.exceptions import ClickHouseError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..admin import error_response, json_response
from ..errors import ClientError, Kind
from . import answer, cellkey, heatmap, query, suppress, users
from .builder import RawExpired

log = logging.getLogger("collector.stats")
MAX_BODY_BYTES = 64 * 1024
REALTIME_S = 5 * 60
# BAD_ARGUMENTS naming a pattern, CANNOT_COMPILE_REGEXP: a `matches` filter the engine cannot compile.
_BAD_REGEXP = (36, 427)


# The dashboard's session door (collector/read/stats_bridge.py) puts its logged-in user here, in the ASGI
# scope, which no client can write: the same handlers then answer the dashboard as they answer the API.
SESSION_READER = "collector.session_reader"


def reader(request: Request) -> users.User:
    """The authenticated reader, or a 401 (no credential and a wrong one alike)."""
    collector = request.app.state.collector
    if isinstance(session_user := request.scope.get(SESSION_READER), users.User):
        return session_user
    given = users.credentials({k.lower(): v for k, v in request.headers.items()}, {})
    user = users.authenticate(collector.config, collector.settings.admin_token, *given) if given else None
    if user is None:
        raise ClientError(Kind.UNAUTHORIZED, "unauthorized", "send a read user's credentials (HTTP basic) "
                          "or the admin token (bearer)")
    return user


def readable_site(request: Request, user: users.User, site: Any, field: str = "site_id") -> str:
    """`site` if it is configured and the user may read it; the same 400 otherwise (no existence oracle)."""
    if not isinstance(site, str) or site not in request.app.state.collector.config.sites or not user.may_read(site):
        raise query.bad(field, "not a site you can read")
    return site


def today(request: Request) -> dt.date:
    return dt.datetime.fromtimestamp(request.app.state.collector.clock(), dt.UTC).date()


def first_day(store: Any, site: str) -> dt.date | None:
    rows = answer.execute(store, "SELECT min(day) AS d, count() AS n FROM analytics.site_daily "
                                 "WHERE site = {site:String}", {"site": site})
    return rows[0]["d"] if rows and rows[0]["n"] else None


async def _guarded(request: Request, work: Callable[[], Any]) -> Response:
    """Run `work` off the event loop; client mistakes become their 4xx, never a 500."""
    try:
        return json_response(200, await run_in_threadpool(work))
    except ClientError as exc:
        return error_response(exc)
    except RawExpired as exc:
        return error_response(ClientError(Kind.INVALID, "raw_expired", str(exc)))
    except ClickHouseError as exc:
        if "Pattern" in str(exc) and any(f"Code: {code}." in str(exc) for code in _BAD_REGEXP):
            return error_response(query.bad("filters", "a matches pattern is not a valid regular expression"))
        raise


async def stats_query(request: Request) -> Response:
    try:
        user = reader(request)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise ClientError(Kind.TOO_LARGE, "too_large", f"at most {MAX_BODY_BYTES} bytes")
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ClientError(Kind.INVALID, "invalid_json", "the body is not JSON") from None
    except ClientError as exc:
        return error_response(exc)
    return await _guarded(request, lambda: answer_for(request.app.state.collector, user, doc))


def answer_for(collector: Any, user: users.User, doc: Any) -> dict[str, Any]:
    """The stats answer to the request body `doc` for `user`, suppressed unless the user is the admin: the
    one entry point for every reader of the API (the dashboard's CSV export uses it with `answer.to_csv`).
    Blocking (run it off the event loop); raises ClientError (4xx) and RawExpired (a 400)."""
    query.validate(doc)
    site = doc["site_id"]
    if site not in collector.config.sites or not user.may_read(site):
        raise query.bad("site_id", "not a site you can read")
    day = dt.datetime.fromtimestamp(collector.clock(), dt.UTC).date()
    start = first_day(collector.store, site) if doc.get("date_range") == "all" else None
    q = query.parse(doc, day, start)
    return answer.run(collector.store, collector.config, q, day, user.is_admin)


async def realtime(request: Request) -> Response:
    collector = request.app.state.collector

    def work() -> dict[str, Any]:
        user = reader(request)
        site = readable_site(request, user, request.query_params.get("site_id"))
        k = suppress.threshold(collector.config, site, user.is_admin)
        since = int(collector.clock()) - REALTIME_S
        rows = answer.execute(collector.store, "SELECT uniqExact(visitor_id) AS n FROM analytics.events WHERE site = "
                              "{site:String} AND ts >= toDateTime({since:UInt32})", {"site": site, "since": since})
        n = int(rows[0]["n"])
        shown = cellkey.perturb(collector.store, site, k, [n])[0]
        ok = cellkey.released(n, shown, k)
        return {"visitors": shown if ok else None, "meta": {"small_cell_threshold": k, "suppressed": not ok,
                                                             "window_s": REALTIME_S}}

    return await _guarded(request, work)


async def sites(request: Request) -> Response:
    collector = request.app.state.collector

    def work() -> dict[str, Any]:
        user = reader(request)
        first = {r["site"]: r["d"] for r in answer.execute(
            collector.store, "SELECT site, min(day) AS d FROM analytics.site_daily GROUP BY site", {})}
        readable = [s for s in collector.config.sites if user.may_read(s)]
        return {"sites": [{"site_id": s, "first_event": first[s].isoformat() if s in first else None}
                          for s in sorted(readable)]}

    return await _guarded(request, work)


async def heatmap_cells(request: Request) -> Response:
    collector = request.app.state.collector

    def work() -> dict[str, Any]:
        user = reader(request)
        p = request.query_params
        site = readable_site(request, user, p.get("site_id"))
        start, end = query.date_range(p.get("date_range", "30d") if "from" not in p else [p["from"], p.get("to", "")],
                                      today(request), first_day(collector.store, site))
        return heatmap.cells(collector.store, collector.config, site, p.get("page", "/"), start, end,
                             p.get("width"), user.is_admin)

    return await _guarded(request, work)


def routes() -> list[Route]:
    return [Route("/api/stats/query", stats_query, methods=["POST"]),
            Route("/api/stats/realtime", realtime, methods=["GET"]),
            Route("/api/stats/sites", sites, methods=["GET"]),
            Route("/api/stats/heatmap", heatmap_cells, methods=["GET"])]
