"""Serving a process's metrics on their own port (workers and dispatchers)."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


def serve_metrics(host: str, port: int | None) -> None:
    """Serve ``/metrics`` from a daemon thread when a port is set."""
    if port is None:
        return
    start_http_server(port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, port)
