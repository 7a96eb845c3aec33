"""The one uvicorn server every process of `collector serve` runs (single process, owner, workers)."""

from __future__ import annotations

import threading
from types import FrameType
from typing import Any

import uvicorn


def build_server(app: Any, **bind: Any) -> uvicorn.Server:
    """The one place a uvicorn server is configured, for every process of `serve`; `bind` is where it
    listens (host and port; uds; or nothing when the caller passes its sockets to run()). Each process
    holds its own connections to the edge limits (see http_edge)."""
    from .http_edge import server_config  # imported when serving: `collector sql` starts without it

    collector = app.state.collector
    return _Server(server_config(app, collector.settings, **bind, timeout_graceful_shutdown=10), collector)


class _Server(uvicorn.Server):
    """uvicorn's server, except that SIGTERM/SIGINT flip readiness at once (/readyz and ingest answer
    503) and uvicorn's own shutdown (close the listener, finish requests, flush the writer) starts
    COLLECTOR_SHUTDOWN_DRAIN_MS later, or at once on a second signal; an orderly stop exits 0
    instead of re-raising the signal."""

    def __init__(self, config: uvicorn.Config, collector: Any) -> None:
        super().__init__(config)
        self.collector = collector
        self._draining: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.collector.ready = False
        drain_s = self.collector.settings.shutdown_drain_ms / 1000
        if self._draining is None and drain_s > 0:
            self._draining = threading.Timer(drain_s, self._stop, (sig, frame))
            self._draining.daemon = True
            self._draining.start()
        else:
            self._stop(sig, frame)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()
