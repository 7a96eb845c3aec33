"""Operator routes under /admin, behind the bearer token COLLECTOR_ADMIN_TOKEN: data-subject export and
delete by stored visitor id, and site purge. No CORS headers: browsers on other origins cannot call them.

    GET  /admin/dsar/export?site=S&visitor=V   every raw row and receipt of visitor V (JSON)
    POST /admin/dsar/delete?site=S&visitor=V   delete them; counts and the engine's proof
    POST /admin/purge?site=S                   delete every row of site S in every table

A missing or wrong token, or no token configured, is a 401 without detail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import rights
from .auth import require_admin
from .errors import ClientError, Kind

log = logging.getLogger("collector.admin")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), status_code=status,
                    media_type="application/json", headers=headers)


def error_response(exc: ClientError) -> Response:
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else {}
    if exc.kind is Kind.UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    return json_response(exc.status, exc.body(), headers)


def _require_admin(request: Request) -> Any:
    require_admin(request)
    return request.app.state.collector


def _flushed_then(collector: Any, act: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> dict[str, Any]:
    """Rows still buffered by the writer are stored first, so the answer covers everything received."""
    if collector.writer is not None:
        collector.writer.flush()
    return act(collector, *args)


async def _run(request: Request, parse: Callable[[Request], tuple[Any, ...]],
               act: Callable[..., dict[str, Any]]) -> Response:
    """Authorize, then judge the input, then act off the event loop once the writer has flushed."""
    try:
        collector = _require_admin(request)
        args = parse(request)
        result = await run_in_threadpool(_flushed_then, collector, act, args)
    except ClientError as exc:
        return error_response(exc)
    except rights.RightsError as exc:
        return error_response(ClientError(Kind.INVALID, "invalid_request", str(exc)))
    return json_response(200, result)


def _site_visitor(request: Request) -> tuple[str, int]:
    q = request.query_params
    return rights.check_site(q.get("site", "")), rights.parse_visitor(q.get("visitor", ""))


def _site(request: Request) -> tuple[str]:
    return (rights.check_site(request.query_params.get("site", "")),)


async def export(request: Request) -> Response:
    return await _run(request, _site_visitor,
                      lambda c, site, visitor: rights.export_visitor(c.store, site, visitor, c.clock()))


async def delete(request: Request) -> Response:
    return await _run(request, _site_visitor, lambda c, site, visitor: _logged(
        "visitor deleted", rights.delete_visitor(c.store, site, visitor)))


async def purge(request: Request) -> Response:
    return await _run(request, _site, lambda c, site: _logged("site purged", rights.purge_site(c.store, site)))


def _logged(message: str, report: dict[str, Any]) -> dict[str, Any]:
    log.info(message, extra={"site": report["site"], "deleted": sum(report["deleted"].values()),
                             "verified": report["verified"]})
    return report


def routes() -> list[Route]:
    return [
        Route("/admin/dsar/export", export, methods=["GET"]),
        Route("/admin/dsar/delete", delete, methods=["POST"]),
        Route("/admin/purge", purge, methods=["POST"]),
    ]
