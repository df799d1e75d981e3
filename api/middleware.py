"""Request ids and headers that dependencies attach to whatever response goes out.

The same middleware guards what reaches the routes and the log: a path or query
string holding a NUL character is refused (PostgreSQL cannot compare it, SQLite
can, so the stores would disagree), a body that stops arriving is cut off after
``body_timeout_s``, and the access log escapes control characters, so a path with
an encoded newline cannot forge a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, escape_control, loggable_path
from store.logcontext import bound
from telemetry.metrics import HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger("vigil.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")
BODY_TIMEOUT_S = 30.0


def nul_field(scope: Scope) -> str | None:
    """The path or query parameter carrying a NUL character, if any."""
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return escape_control(name) or "query"
    return None


class BodyTimeoutError(ApiError):
    """The client announced a body and stopped sending it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408,
            f"The request body did not arrive within {seconds:g} s; send the whole body "
            "(check Content-Length)",
            code="request_timeout",
            # The rest of the body may still come; the connection cannot be reused.
            headers={"Connection": "close"},
        )


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


def request_id_for(scope: Scope) -> str:
    """The client's ``X-Request-Id`` when it is a safe token, else a new id."""
    incoming = dict(scope.get("headers", ())).get(b"x-request-id", b"").decode("latin-1")
    return incoming if _SAFE_ID.match(incoming) else "req_" + secrets.token_hex(8)


def record(scope: Scope, route: str, status: int, started: float, rid: str) -> None:
    """The request's metrics and its access log line."""
    method = scope["method"] if scope["method"] in _METHODS else "other"
    took_s = time.perf_counter() - started
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(took_s)
    log.info(
        "%s %s %s %.1fms [%s]",
        scope["method"],
        loggable_path(scope["path"]),
        status,
        took_s * 1000,
        rid,
        extra={"requestId": rid},
    )


class RequestContextMiddleware:
    """Give each request an id (``X-Request-Id``) and send headers stashed in its state.

    Rate-limit headers are decided in the auth dependency but must reach error
    responses too, which are built by exception handlers; so they travel in the
    request's state and are added here, at the last moment.
    """

    def __init__(self, app: ASGIApp, *, body_timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_for(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        state["extra_headers"] = {}
        started = time.perf_counter()
        status = 0
        timeout = self.body_timeout_s

        async def receive_in_time() -> Message:
            # Only the body is bounded; the wait for a disconnect after it is not.
            if state.get("body_done"):
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                raise BodyTimeoutError(timeout) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                state["body_done"] = True
            return message

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
                if (field := nul_field(scope)) is not None:
                    await _refuse(send_with_headers, rid, field)
                else:
                    await self.app(scope, receive_in_time, send_with_headers)
        finally:
            record(scope, _route_of(scope), status, started, rid)


async def _refuse(send: Send, rid: str, field: str) -> None:
    body = {
        "error": f"{field} contains a NUL (%00) character; remove it",
        "code": "invalid_request",
        "fields": [{"field": field, "issue": "must not contain NUL characters"}],
        "requestId": rid,
    }
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
