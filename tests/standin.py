"""The stand-in ClickHouse server of the server-mode tests: ClickHouse's HTTP interface (the port-8123
protocol) over a real engine.

No ClickHouse server can be installed where the suite runs, so server mode is tested against the collector's
own `/sql` door — the same protocol, on the same engine (chDB is ClickHouse itself, in process) — serving
an embedded store that it opens and nothing else: no ingest, no writer, no housekeeping, only the admin user,
so every statement the tests see is one a server-mode collector sent. Run as its own process:

    python tests/standin.py DATA_DIR PORT ADMIN_TOKEN

It listens on 127.0.0.1 only, and is stopped (or killed, for the outage tests) by its PID.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import uvicorn
from starlette.applications import Starlette

from collector import config as config_mod
from collector.metrics import Metrics
from collector.read import sql
from collector.settings import DEMO_CONFIG, Settings
from collector.store import open_store

URL = "http://admin:{token}@127.0.0.1:{port}/analytics?proxy_path=/sql"


def app(data_dir: Path, token: str) -> Starlette:
    settings = Settings(data_dir=data_dir, admin_token=token)
    store = open_store(settings)
    # The door answers in `analytics` by default (a server's default database for the user): it exists, empty,
    # as on a server whose operator created the database; the collectors' migrations create everything in it.
    store.command("CREATE DATABASE IF NOT EXISTS analytics")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        sql.close(app)
        store.close()

    starlette = Starlette(routes=sql.routes(), lifespan=lifespan)
    starlette.state.collector = SimpleNamespace(store=store, settings=settings, metrics=Metrics(),
                                                config=config_mod.load(DEMO_CONFIG))
    return starlette


def main() -> None:
    data_dir, port, token = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    uvicorn.run(app(data_dir, token), host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
