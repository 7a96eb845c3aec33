"""The OpenAPI 3.1 document of the public and admin HTTP API, served at GET /openapi.json.

The event body schema is schemas/event.schema.json itself (OpenAPI 3.1 speaks JSON Schema 2020-12), so
the contract exists once. A test checks that every route of the app is described here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .read import dashboard_doc
from .request import MAX_EVENTS, SCHEMA_PATH

JSON = "application/json"
_ERROR = {"type": "object", "required": ["error", "detail"],
          "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}}
_RETRY = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}
_SITE = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]*$"}
_VISITOR = {"type": "string", "pattern": "^[0-9]{1,20}$"}
_ADMIN: list[dict[str, list[str]]] = [{"bearer": []}]


def _error(description: str, retry: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if retry:
        out["headers"] = _RETRY
    return out


def _query(name: str, schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _ingest() -> dict[str, Any]:
    events = {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS, "items": {"$ref": "#/components/schemas/Event"}}
    body = {"oneOf": [{"$ref": "#/components/schemas/Event"}, events,
                      {"type": "object", "required": ["events"], "properties": {"events": events},
                       "additionalProperties": False}]}
    accepted = {"type": "object", "required": ["accepted", "dropped"], "properties": {
        "accepted": {"type": "integer", "minimum": 0},
        "dropped": {"type": "object", "additionalProperties": {"type": "integer"}}}}
    return {"post": {
        "summary": "Send one event, an array of events, or {\"events\": [...]} (at most 100 events, 64 KiB)",
        "operationId": "ingest",
        "requestBody": {"required": True, "content": {
            JSON: {"schema": body},
            "text/plain": {"schema": {"type": "string", "description": "The same JSON, as sent by sendBeacon"}}}},
        "responses": {
            "202": {"description": "Accepted; durable once answered (spool mode)",
                    "content": {JSON: {"schema": accepted}}},
            "400": _error("Invalid body or event"), "403": _error("Origin not allowed, or a credential was sent"),
            "413": _error("Body or batch too large"), "415": _error("Unsupported content type or encoding"),
            "429": _error("This site's rate limit", True), "503": _error("Saturated, spool full or stopping", True),
        }},
        "options": {"summary": "CORS preflight", "operationId": "ingestPreflight",
                    "responses": {"204": {"description": "CORS headers for an allowed origin"}}}}


def _admin(method: str, summary: str, params: list[dict[str, Any]], op: str) -> dict[str, Any]:
    return {method: {"summary": summary, "operationId": op, "security": _ADMIN, "parameters": params,
                     "responses": {"200": {"description": "Done", "content": {JSON: {"schema": {"type": "object"}}}},
                                   "400": _error("Invalid site or visitor id"),
                                   "401": _error("Missing or wrong bearer token (no detail given)")}}}


def _visitor(op: str) -> dict[str, Any]:
    body = {"type": "object", "required": ["site", "vid"],
            "properties": {"site": _SITE, "vid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"}}}
    return {"post": {"summary": f"Self-service {op} of the caller's own data (proved by its first-party id)",
                     "operationId": f"visitor_{op}",
                     "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
                     "responses": {"200": {"description": "Done", "content": {JSON: {"schema": {"type": "object"}}}},
                                   "400": _error("Invalid body"), "404": _error("Nothing stored for this id"),
                                   "413": _error("Body too large"), "415": _error("Unsupported content type"),
                                   "429": _error("Too many requests", True)}},
            "options": {"summary": "CORS preflight", "operationId": f"visitor_{op}_preflight",
                        "responses": {"204": {"description": "CORS headers for an allowed origin"}}}}


def _get(summary: str, op: str, media: str, params: list[dict[str, Any]] | None = None,
         statuses: tuple[str, ...] = ("200",)) -> dict[str, Any]:
    responses = {s: {"description": summary, "content": {media: {"schema": {}}}} for s in statuses}
    return {"get": {"summary": summary, "operationId": op, "parameters": params or [], "responses": responses}}


_READER: list[dict[str, list[str]]] = [{"reader": []}, {"bearer": []}]
_STATS_SCHEMA = SCHEMA_PATH.parent / "stats_query.schema.json"


def _stats_query_schema() -> dict[str, Any]:
    """schemas/stats_query.schema.json, its internal references pointed at where it sits in this document."""
    text = _STATS_SCHEMA.read_text().replace('"#/$defs/', '"#/components/schemas/StatsQuery/$defs/')
    schema: dict[str, Any] = orjson.loads(text)
    schema.pop("$schema", None)
    return schema


def _stats() -> dict[str, Any]:
    site = [_query("site_id", _SITE)]
    errors = {"400": _error("Invalid query, naming the field and the rule; raw_expired: needs expired raw events"),
              "401": _error("Missing or wrong credential")}
    answer = {"type": "object", "required": ["results", "meta", "query"]}

    def get(summary: str, op: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        return {"get": {"summary": summary, "operationId": op, "security": _READER, "parameters": params,
                        "responses": {"200": {"description": summary, "content": {JSON: {"schema": {}}}}, **errors}}}

    return {
        "/api/stats/query": {"post": {
            "summary": "Plausible Stats API v2-shaped query; small cells suppressed for non-admins",
            "operationId": "stats_query", "security": _READER,
            "requestBody": {"required": True,
                            "content": {JSON: {"schema": {"$ref": "#/components/schemas/StatsQuery"}}}},
            "responses": {"200": {"description": "Results", "content": {JSON: {"schema": answer}}},
                          **errors, "413": _error("Body too large")}}},
        "/api/stats/realtime": get("Visitors in the last 5 minutes", "stats_realtime", site),
        "/api/stats/sites": get("Sites the reader may read, with their first day of data", "stats_sites", []),
        "/api/stats/heatmap": get("Click heatmap cells of one page", "stats_heatmap", [
            *site, _query("page", {"type": "string", "maxLength": 2000}, False),
            _query("width", {"type": "string", "pattern": "^[0-9]{1,5}$"}, False),
            _query("date_range", {"type": "string"}, False),
            _query("from", {"type": "string", "format": "date"}, False),
            _query("to", {"type": "string", "format": "date"}, False)]),
    }


def event_variants(schema: dict[str, Any]) -> dict[str, Any]:
    """The event schema as one closed object schema per event type (a `oneOf` on `type`): the same
    contract as its `allOf` of if/then branches with `unevaluatedProperties: false` (a test checks they
    accept the same documents), in a shape API tools and generators understand."""
    common, types = schema["properties"], schema["properties"]["type"]["enum"]
    variants = []
    for name in types:
        props, required = dict(common), list(schema["required"])
        for branch in schema.get("allOf", []):
            cond = branch["if"]["properties"]["type"]
            if name in cond.get("enum", [cond.get("const")]):
                props |= branch["then"].get("properties", {})
                required += branch["then"].get("required", [])
        props["type"] = {"const": name}
        variants.append({"type": "object", "title": name, "properties": props, "required": required,
                         "additionalProperties": False})
    return {"description": schema.get("description", ""), "oneOf": variants}


def _sql() -> dict[str, Any]:
    """ClickHouse's HTTP interface under /sql: described by ClickHouse's documentation, not by JSON schemas."""
    text = {"text/plain": {"schema": {"type": "string"}}}
    responses = {"200": {"description": "The result in the requested format", "content": {"*/*": {"schema": {}}}}}
    responses |= {status: {"description": f"ClickHouse-style error: Code: N. DB::Exception: ... ({why})",
                           "content": text} for status, why in (
        ("400", "syntax, bad value"), ("401", "no credentials"), ("403", "wrong credentials, not allowed"),
        ("404", "unknown table, column or function"), ("408", "timeout"), ("413", "query too large"),
        ("500", "other engine errors"), ("501", "not implemented"))}
    params = [_query(name, {"type": "string"}, False)
              for name in ("query", "database", "default_format", "query_id", "user", "password")]
    operation = {"summary": "SQL for dashboards and tools (ClickHouse's HTTP interface; users from the sites "
                            "config, roles read/analyst/admin)", "parameters": params, "responses": responses}
    return {"get": {**operation, "operationId": "sql_get"},
            "post": {**operation, "operationId": "sql_post",
                     "requestBody": {"required": False, "content": text}}}


@cache
def document() -> dict[str, Any]:
    event = event_variants(orjson.loads(SCHEMA_PATH.read_bytes()))
    site_param = [_query("site", _SITE, required=False)]
    pixel = [_query("site", _SITE), _query("url", {"type": "string", "maxLength": 2000}, False),
             _query("ref", {"type": "string", "maxLength": 2000}, False)]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Privacy analytics collector", "version": "1",
                 "description": "Public ingest API (write-only) and the admin API (bearer token)."},
        "paths": {
            "/api/event": _ingest(),
            "/api/event.gif": _get("No-JS pixel: always a 1x1 GIF", "pixel", "image/gif", pixel),
            "/t.js": _get("The tracker script", "tracker", "text/javascript", statuses=("200", "304")),
            "/t.x.js": _get("The tracker's extension (vitals, heatmap, forms, exclusions)", "tracker_extension",
                            "text/javascript", statuses=("200", "304")),
            "/t.c.js": _get("The tracker's consent-source extension (reads a CMP's consent signal)",
                            "tracker_consent_extension", "text/javascript", statuses=("200", "304")),
            "/healthz": _get("Liveness", "healthz", JSON),
            "/readyz": _get("Readiness: 503 while starting or stopping", "readyz", JSON, statuses=("200", "503")),
            "/metrics": _get("Prometheus metrics", "metrics", "text/plain"),
            "/openapi.json": _get("This document", "openapi", JSON),
            "/privacy/inventory": _get("Every stored field with purpose, tier and retention", "inventory", JSON,
                                       [*site_param, _query("format", {"enum": ["json", "markdown"]}, False)],
                                       ("200", "404")),
            "/api/visitor/export": _visitor("export"),
            "/api/visitor/delete": _visitor("delete"),
            "/admin/dsar/export": _admin("get", "Export a visitor's raw rows and receipts",
                                         [_query("site", _SITE), _query("visitor", _VISITOR)], "admin_export"),
            "/admin/dsar/delete": _admin("post", "Delete a visitor's raw rows and receipts",
                                         [_query("site", _SITE), _query("visitor", _VISITOR)], "admin_delete"),
            "/admin/purge": _admin("post", "Delete every row of a site", [_query("site", _SITE)], "admin_purge"),
            **_stats(),
            **dashboard_doc.paths(),
            "/sql": _sql(),
            "/sql/ping": _get("ClickHouse-style ping: Ok.", "sql_ping", "text/plain"),
        },
        "components": {
            "schemas": {"Event": event, "Error": _ERROR, "StatsQuery": _stats_query_schema()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "COLLECTOR_ADMIN_TOKEN"},
                                "reader": {"type": "http", "scheme": "basic",
                                           "description": "A user of the sites config ([users.NAME])"}},
        },
    }


async def openapi(request: Request) -> Response:
    return Response(orjson.dumps(document()), media_type=JSON)


def routes() -> list[Route]:
    return [Route("/openapi.json", openapi, methods=["GET"])]
