"""A short lane for AI ingest, ahead of the whole middleware stack.

Like heartbeat pings, events arrive by the thousand per second from the user's
applications; the lane answers exactly what ``api.routers.ai_ingest`` answers,
through the same ``answer`` function, with the same error body and CORS headers.
It sits outside FastAPI's middleware (each layer cost CPU on every message of
every request), so it does what ``RequestContextMiddleware`` does for other
routes itself: the request id and its header, the body timeout, the metrics and
the access log line. A path or query string with a NUL character goes the long
way, to be refused there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ai.event import MAX_BODY
from ai.ingest import INGEST_KEY_HEADER
from api.errors import ApiError, invalid
from api.middleware import BODY_TIMEOUT_S, BodyTimeoutError, record, request_id_for
from api.routers.ai_ingest import CORS_HEADERS, PREFLIGHT_HEADERS, answer
from api.unavailable import store_failed
from store.logcontext import bound

log = logging.getLogger("vigil.api")
PREFIX = "/api/ai/ingest/"
ROUTE = "/api/ai/ingest/{monitor_id}"
_KEY = INGEST_KEY_HEADER.encode()


class AiIngestLane:
    def __init__(self, app: ASGIApp, *, body_timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        method: str = scope.get("method", "")
        monitor_id = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        if scope["type"] != "http" or method not in ("POST", "OPTIONS") or not monitor_id:
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if "/" in monitor_id or "\x00" in monitor_id or b"%00" in query or b"\x00" in query:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id_for(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        status = 0
        try:
            with bound(requestId=rid):
                status = await self._answer(scope, receive, send, rid, method, monitor_id)
        finally:
            record(scope, ROUTE, status, started, rid)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, rid: str, method: str, monitor_id: str
    ) -> int:
        if method == "OPTIONS":
            await _send(send, 204, b"", PREFLIGHT_HEADERS, rid, content_type=None)
            return 204
        state = scope["state"]
        headers = dict(scope.get("headers", ()))
        raw_key = headers.get(_KEY)
        status, extra = 200, dict(CORS_HEADERS)
        try:
            body, too_big = await _read_body(receive, self.body_timeout_s)
            if too_big:
                raise ApiError(413, f"Event body is larger than {MAX_BODY} bytes")
            # text/plain too: navigator.sendBeacon and "simple" CORS posts send it.
            content_type = headers.get(b"content-type", b"application/json")
            if b"json" not in content_type and not content_type.startswith(b"text/plain"):
                raise invalid([("Content-Type", "must be application/json or text/plain")])
            payload: dict[str, Any] = await answer(
                scope["app"],
                monitor_id,
                body,
                raw_key.decode("latin-1") if raw_key is not None else None,
            )
        except ApiError as err:
            status = err.status
            extra.update(err.headers)
            payload = {"error": err.message, "code": err.code}
            if err.fields:
                payload["fields"] = [{"field": f, "issue": i} for f, i in err.fields]
            payload.update(err.extra)
            payload["requestId"] = state["request_id"]
        except Exception as exc:
            unavailable = store_failed(exc, scope["app"].state.store)
            if unavailable is not None:
                # Not stored: the client's retry sends it again.
                status = unavailable.status
                extra.update(unavailable.headers)
                payload = {
                    "error": unavailable.message,
                    "code": unavailable.code,
                    "requestId": state["request_id"],
                }
            else:
                log.exception("AI ingest failed [%s]", state["request_id"])
                status = 500
                payload = {
                    "error": f"Internal error; report request id {state['request_id']}",
                    "code": "internal_error",
                    "requestId": state["request_id"],
                }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        await _send(send, status, raw, extra, rid, content_type=b"application/json")
        return status


async def _send(
    send: Send,
    status: int,
    raw: bytes,
    headers: dict[str, str],
    rid: str,
    *,
    content_type: bytes | None,
) -> None:
    out = [(b"content-length", str(len(raw)).encode())]
    if content_type is not None:
        out.append((b"content-type", content_type))
    out.extend((k.lower().encode(), v.encode()) for k, v in headers.items())
    out.append((b"x-request-id", rid.encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": raw})


async def _read_body(receive: Receive, timeout_s: float) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        # Each message in time, as RequestContextMiddleware bounds them (without
        # the task wait_for would start for each).
        try:
            async with asyncio.timeout(timeout_s):
                message = await receive()
        except TimeoutError:
            raise BodyTimeoutError(timeout_s) from None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), size > MAX_BODY
