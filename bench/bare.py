"""The ceiling: a bare Starlette app that reads the body of POST /api/event and answers 202.

Served by the same server software with the same settings as `collector serve` (uvicorn, one worker,
no access log, no proxy headers), so the ratio of the two isolates what the collector itself costs.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ANSWER = b'{"accepted": 1, "dropped": {}}'


async def ingest(request: Request) -> Response:
    await request.body()
    return Response(ANSWER, status_code=202, media_type="application/json")


async def readyz(request: Request) -> Response:
    return Response(b'{"status": "ready"}', media_type="application/json")


app = Starlette(routes=[Route("/api/event", ingest, methods=["POST"]), Route("/readyz", readyz)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, server_header=False,
                proxy_headers=False, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
