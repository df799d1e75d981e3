"""Request ids and headers that dependencies attach to whatever response goes out."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alerting.redact import mask_secret
from store.logcontext import bound
from telemetry.metrics import HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger("vigil.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")


# Metric labels stay bounded whatever a client sends.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _route_of(scope: Scope) -> str:
    """The route template (``/api/monitors/{monitor_id}``): a bounded metric label."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if scope["path"].startswith("/api/heartbeat/"):
        return "/api/heartbeat/{token}"  # answered by the lane, ahead of routing
    return "unmatched"


_HEARTBEAT_TOKEN = re.compile(r"^(/api/heartbeat/)([^/]+)")


def loggable_path(path: str) -> str:
    """The path as a log line may show it: control characters escaped (a decoded
    ``%0a`` must not start a forged line) and heartbeat tokens masked."""
    path = _HEARTBEAT_TOKEN.sub(lambda m: m.group(1) + mask_secret(m.group(2)), path)
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in path)


class RequestContextMiddleware:
    """Give each request an id (``X-Request-Id``) and send headers stashed in its state.

    Rate-limit headers are decided in the auth dependency but must reach error
    responses too, which are built by exception handlers; so they travel in the
    request's state and are added here, at the last moment.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", ())).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SAFE_ID.match(incoming) else "req_" + secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        state["extra_headers"] = {}
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                for name, value in state["extra_headers"].items():
                    headers.append((name.lower().encode(), str(value).encode()))
                message["headers"] = headers
            await send(message)

        try:
            with bound(requestId=rid):
                await self.app(scope, receive, send_with_headers)
        finally:
            route = _route_of(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            took_s = time.perf_counter() - started
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(took_s)
            log.info(
                "%s %s %s %.1fms [%s]",
                scope["method"],
                loggable_path(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
                rid,
                extra={"requestId": rid},
            )
