"""The Starlette application: HTTP in, validated events to the pipeline, rows to the writer."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import admin, handoff, ingest, inventory, openapi, quarantine, rights, visitor, visits, visits_open
from . import config as config_mod
from .admin import json_response
from .errors import ClientError
from .handoff import OwnerLink, drain_orphans
from .ingest import CSP_HTML, CSP_OTHER
from .process import ONE_PROCESS, OWNER, SERVER, WORKER, Process
from .read import card_lists, cellkey, dashboard, sql, stats, suppress
from .settings import Settings
from .state import TRACKER_FILES, Collector, build_collector, open_spool
from .store import Store, migrate, open_store
from .writer import Writer

log = logging.getLogger("collector.app")
GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
       b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def _collector(request: Request) -> Collector:
    return request.app.state.collector  # type: ignore[no-any-return]


def _cors(collector: Collector, request: Request) -> dict[str, str]:
    origin = request.headers.get("origin", "")
    if not ingest.cors_allowed(collector, origin):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": "Retry-After"}


async def preflight(request: Request) -> Response:
    headers = _cors(_collector(request), request)
    if headers:
        headers |= {"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Max-Age": "86400"}
    return Response(status_code=204, headers=headers)


async def pixel(request: Request) -> Response:
    """The no-JS pixel: always a 1x1 GIF; invalid input is counted, never stored."""
    collector = _collector(request)
    q = request.query_params
    item = {"site": q.get("site", ""), "type": "pageview", "url": q.get("url") or request.headers.get("referer", ""),
            "consent": {}}
    if q.get("ref"):
        item["referrer"] = q["ref"]
    try:
        ingest.refuse_early(collector, request.headers)
        await ingest.accept_durably(collector, [item], ingest.info_of(request.scope))
    except ClientError as exc:
        collector.metrics.inc("collector_requests_rejected_total", error=exc.error)
    return Response(GIF, media_type="image/gif", headers={"Cache-Control": "no-store"})


async def tracker(request: Request) -> Response:
    body, etag = _collector(request).tracker[request.url.path.rsplit("/", 1)[-1]]
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


async def healthz(request: Request) -> Response:
    return json_response(200, {"status": "ok"})


async def readyz(request: Request) -> Response:
    ready = _collector(request).ready
    return json_response(200 if ready else 503, {"status": "ready" if ready else "not ready"})


async def metrics(request: Request) -> Response:
    return Response(_collector(request).metrics.render(), media_type="text/plain; version=0.0.4")


class SecurityHeaders:
    """Adds a Content-Security-Policy and nosniff to every response (HTML pages get a page policy)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                html = any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                # A route that set its own policy (the dashboard's pages, the demo site) keeps it.
                if not any(k == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", (CSP_HTML if html else CSP_OTHER).encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CollectorApp(Starlette):
    """The Starlette app, with POST /api/event answered by `ingest.Ingest` before Starlette's own
    middleware and router: the hot path. The ingest endpoint adds the security headers itself."""

    ingest: ingest.Ingest
    observe: Callable[[float], None]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == ingest.PATH and scope["method"] == "POST":
            await self.ingest(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.observe(time.perf_counter() - start)


def create_app(settings: Settings, clock: Callable[[], float] = time.time, store: Store | None = None,
               process: Process = ONE_PROCESS) -> Starlette:
    """The collector's app; `process` says which part it plays in `serve --workers N` (default: all of it)."""
    collector = build_collector(settings, clock, process.metrics())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker = process.role == WORKER
        db: Any = store or (OwnerLink(process.owner_socket, process.token) if worker else open_store(settings))
        collector.store = db
        if process.role != WORKER:  # a worker has no store; the owner (or the supervisor) migrates
            migrate(db)
            drain_orphans(process.orphan_spools(settings), db, collector.metrics, collector)

        def rollup_days(site: str) -> int:
            policy = collector.config.sites.get(site)
            return policy.rollup_retention_days if policy else config_mod.DEFAULT_ROLLUP_DAYS

        # Server mode with CLICKHOUSE_INGEST_URL: the writer inserts as its own, insert-only user.
        ingest_db = (open_store(replace(settings, clickhouse_url=settings.clickhouse_ingest_url))
                     if settings.clickhouse_ingest_url and store is None and not worker else db)
        collector.writer = Writer(
            ingest_db, collector.metrics, open_spool(settings, process.spool_dir(settings)), clock=clock,
            retry_max_s=settings.retry_max_ms / 1000, drop_retention=rollup_days,
        )
        collector.writer.start()
        if process.role != WORKER and not (process.role == SERVER and process.index):
            # One process per data dir counts every spool's quarantine (its own, each worker's).
            spool_root = settings.data_dir / "spool"
            collector.metrics.gauge("collector_spool_quarantined_segments", lambda: quarantine.count(spool_root))
        if process.role == OWNER:
            assert process.run_dir is not None
            run_dir, workers, token = process.run_dir, process.workers, process.token
            collector.writer.before_flush = lambda: handoff.flush_workers(run_dir, workers, token)
        consent = (handoff.consent_worker(db, collector.writer, collector) if worker else
                   rights.consent_worker(db, collector.writer, collector.ctx))
        collector.consent_worker = consent
        consent.start()
        # Visits are closed by the process that owns the store (any number of them in server mode: idempotent).
        closer = None if worker else visits.Closer(
            db, clock, settings.ts_past_window_s, rollup_days,
            first=lambda: suppress.publish_thresholds(db, collector.config, clock()),
            then=lambda: (visits_open.update_open(db, clock(), settings.ts_past_window_s),
                          card_lists.keep_ready(db, collector.config, clock())))
        if closer is not None:
            cellkey.ensure_keys(db, collector.config, clock())  # before any read answer needs one
            closer.start()
        collector.ready = True
        log.info("collector ready", extra={"sites": len(collector.config.sites), "role": process.name,
                                           "store": "embedded" if db.embedded else "server"})
        try:
            yield
        finally:
            collector.ready = False
            sql.close(app)
            if closer is not None:
                closer.close()
            consent.close()
            collector.writer.close()
            if ingest_db is not db:
                ingest_db.close()
            if store is None:
                db.close()
            collector.ctx.geo.close()
            collector.metrics.close()
            log.info("collector stopped")

    routes = [
        Route("/api/event", preflight, methods=["OPTIONS"]),
        Route("/api/event.gif", pixel, methods=["GET"]),
        *(Route(f"/{name}", tracker, methods=["GET"]) for name in TRACKER_FILES),
        Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics),
        *admin.routes(), *visitor.routes(), *inventory.routes(), *openapi.routes(), *stats.routes(),
        *dashboard.routes(collector), *sql.routes(),
    ]
    app = CollectorApp(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
    app.state.collector = collector
    app.ingest = ingest.Ingest(collector)
    app.observe = collector.metrics.observer("collector_request_duration_seconds", route="other")
    return app
