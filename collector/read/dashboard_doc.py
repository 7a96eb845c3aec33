"""The dashboard's routes in the OpenAPI document (collector/openapi.py merges them): every route of the
app is described there. They answer a logged-in browser (session cookie), not API clients: the stats API
is POST /api/stats/query."""

from __future__ import annotations

from typing import Any

from . import assets

_JSON = "application/json"
_HTML = "text/html"


def _op(summary: str, op: str, media: str, statuses: tuple[str, ...], params: tuple[str, ...] = (),
        body: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": summary, "operationId": op,
        "parameters": [{"name": p, "in": "query", "required": False, "schema": {"type": "string"}} for p in params],
        "responses": {s: {"description": summary, "content": {media if s[0] in "23" else _JSON: {"schema": {}}}}
                      for s in statuses}}
    if body:
        out["requestBody"] = {"required": True, "content": {media: {"schema": {"type": "object"}}}}
    return out


def paths() -> dict[str, Any]:
    session = ("401", "403")  # no session / CSRF token missing or site not readable by this login
    api = ("200", "400", *session, "413")
    return {
        "/dashboard": {"get": _op("The dashboard page; 303 to the login form without a session", "dashboard",
                                  _HTML, ("200", "303"))},
        "/dashboard/": {"get": _op("Redirects to /dashboard", "dashboard_slash", _HTML, ("308",))},
        "/dashboard/login": {
            "get": _op("The login form", "dashboard_login_form", _HTML, ("200", "303")),
            "post": {**_op("Exchange a credential (form: user, password) for a session cookie", "dashboard_login",
                           "application/x-www-form-urlencoded", ("303", "401", "403"), body=True)}},
        "/dashboard/logout": {"post": _op("End the session (form: csrf)", "dashboard_logout",
                                          "application/x-www-form-urlencoded", ("303", "403"), body=True)},
        "/dashboard/heatmap": {"get": _op("The click heatmap page", "dashboard_heatmap", _HTML, ("200", "303"),
                                          ("site_id", "page", "width", "date_range", "frame"))},
        **{f"/dashboard/static/{name}": {"get": _op("A dashboard script, style sheet or the chart library",
                                                    f"dashboard_static_{i}", asset.media_type.split(";")[0],
                                                    ("200", "304"))}
           for i, (name, asset) in enumerate(sorted(assets.load().items()))},
        "/dashboard/static/v/{version}/{name}": {"get": {**_op(
            "The same files under the page's version, cached as immutable (another version: 404)",
            "dashboard_static_versioned", "application/octet-stream", ("200", "304", "404")),
            "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                           for p in ("version", "name")]}},
        "/dashboard/api/batch": {"post": _op(
            "The queries, cards and realtime count of a view in one round (x-csrf-token header); each answer "
            "carries its own status", "dashboard_batch", _JSON, ("200", "400", *session, "413"), body=True)},
        "/dashboard/api/query": {"post": _op("A stats API query as the logged-in user (x-csrf-token header)",
                                             "dashboard_query", _JSON, (*api, "503"), body=True)},
        "/dashboard/api/sites": {"get": _op("Sites this login may read", "dashboard_sites", _JSON, ("200", *session))},
        "/dashboard/api/realtime": {"get": _op("Visitors in the last 5 minutes", "dashboard_realtime", _JSON,
                                               (*api, "503"), ("site_id",))},
        "/dashboard/api/card": {"get": _op("A card that is not a stats dimension", "dashboard_card", _JSON,
                                           (*api, "503"), ("card", "name", "site_id", "date_range", "filters"))},
        "/dashboard/api/heatmap": {"get": _op("Heatmap cells of a page", "dashboard_heatmap_cells", _JSON,
                                              (*api, "503"), ("site_id", "page", "width", "date_range"))},
        "/dashboard/export.csv": {"get": _op("A card as CSV (cells neutralised)", "dashboard_export", "text/csv",
                                             (*api, "503"), ("q", "name"))},
        # Demo mode only (the packaged demo config): the demo site.
        "/": {"get": _op("Demo site (demo mode)", "demo_home", _HTML, ("200", "404"))},
        "/pricing": {"get": _op("Demo site (demo mode)", "demo_pricing", _HTML, ("200", "404"))},
        "/about": {"get": _op("Demo site (demo mode)", "demo_about", _HTML, ("200", "404"))},
        "/demo.css": {"get": _op("Demo site style sheet (demo mode)", "demo_css", "text/css", ("200", "404"))},
    }
