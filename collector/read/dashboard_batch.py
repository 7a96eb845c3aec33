"""`POST /dashboard/api/batch`: every card a view of the dashboard shows, answered in one request.

A browser's six parallel requests would queue for the store's read handles (two on the embedded store, one
per core); one request that runs the view's queries two at a time on the server saves the round trips, the
per-request work and the queueing, and the page paints when the one answer arrives. Each item is answered
by the same code as its own route (the stats API's `answer_for`, the dashboard cards, realtime), as the
logged-in user, with the same small-cell suppression and the same 4xx for a bad item: an item's error is its
answer's status and body, never a failure of the batch.

    {"items": [{"query": <stats query>} | {"card": {"card", "site_id", "date_range", "name"}}
               | {"realtime": {"site_id"}}, ...]}
    -> {"answers": [{"status": 200, "body": <what the item's own route answers>}, ...]}

The answer is gzip-compressed for clients that accept it (JSON of a full view compresses ~8x).
"""

from __future__ import annotations

import contextvars
import gzip
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..errors import ClientError, Kind
from ..store import READ_HANDLES
from . import answer, assets, dashboard_cards, stats
from .gate import Gate
from .session import Session

MAX_ITEMS = 24
PARALLEL = READ_HANDLES  # items answered at once: as many as the store runs reads at once
# Answers smaller than this are sent as they are: gzip would save less than its own cost.
GZIP_MIN_BYTES = 1024


def json_answer(request: Request, status: int, body: Any) -> Response:
    """`body` as JSON, gzip-compressed when the client accepts it and it is worth it."""
    data = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if len(data) >= GZIP_MIN_BYTES and assets.accepts_gzip(request):
        data = gzip.compress(data, compresslevel=4, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(data, status_code=status, media_type="application/json", headers=headers)


def items_of(doc: Any) -> list[dict[str, Any]]:
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS or not all(
            isinstance(i, dict) and len(i) == 1 and next(iter(i)) in ("query", "card", "realtime") for i in items):
        raise ClientError(Kind.INVALID, "invalid_batch", f"items: 1 to {MAX_ITEMS} objects, each one of "
                          '{"query": {...}}, {"card": {...}} or {"realtime": {...}}')
    return items


def _text(params: dict[str, Any], key: str, default: str = "") -> str:
    value = params.get(key, default)
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def answer_item(gate: Gate, session: Session, item: dict[str, Any]) -> tuple[int, Any]:
    """(status, body) of one item, as its own route would answer it (blocking)."""
    kind, params = next(iter(item.items()))
    collector, user = gate.collector, session.user
    work: Callable[[], Any]
    if not isinstance(params, dict):
        return 400, {"error": "invalid_batch", "detail": f"{kind}: an object"}
    if kind == "query":
        def work() -> Any:
            return stats.answer_for(collector, user, params)
    else:
        site = _text(params, "site_id")
        if not gate.may_read(session, site):
            return 403, {"error": "forbidden", "detail": "this login may not read that site"}
        if kind == "realtime":
            def work() -> Any:
                return stats.realtime_for(collector, user, site)
        else:
            card = _text(params, "card")
            if card not in dashboard_cards.FILES:
                return 400, {"error": "invalid_card", "detail": f"card: one of {', '.join(dashboard_cards.FILES)}"}

            def work() -> Any:
                return dashboard_cards.card(collector, user, card, site, _text(params, "date_range", "30d"),
                                            _text(params, "name"))
    try:
        return 200, work()
    except Exception as exc:  # only the 4xx kinds are answered; anything else is a bug and propagates
        error = stats.client_error(exc)
        if error is None:
            raise
        return error.status, error.body()


async def batch(gate: Gate, request: Request, doc: Any) -> Response:
    session = gate.require(request)  # a POST: the CSRF header is checked here
    items = items_of(doc)
    def answer_all() -> list[tuple[int, Any]]:
        with answer.one_moment():  # one read of the store's facts for every item of the view
            moment = contextvars.copy_context()  # the workers share it (and so the facts)
            with ThreadPoolExecutor(PARALLEL, thread_name_prefix="batch") as pool:
                return list(pool.map(lambda item: moment.copy().run(answer_item, gate, session, item), items))

    answers = await run_in_threadpool(answer_all)
    return json_answer(request, 200, {"answers": [{"status": s, "body": b} for s, b in answers]})
