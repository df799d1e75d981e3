"""A short lane for AI ingest, ahead of FastAPI's routing and dependency layers.

Like heartbeat pings, events arrive by the thousand per second from the user's
applications; the lane answers exactly what ``api.routers.ai_ingest`` answers,
through the same ``answer`` function, with the same error body and CORS headers.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ai.event import MAX_BODY
from ai.ingest import INGEST_KEY_HEADER
from api.errors import ApiError, invalid
from api.routers.ai_ingest import CORS_HEADERS, PREFLIGHT_HEADERS, answer
from api.unavailable import store_failed

log = logging.getLogger("vigil.api")
PREFIX = "/api/ai/ingest/"
_KEY = INGEST_KEY_HEADER.encode()


class AiIngestLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        method: str = scope.get("method", "")
        monitor_id = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        if scope["type"] != "http" or method not in ("POST", "OPTIONS") or not monitor_id:
            await self.app(scope, receive, send)
            return
        if "/" in monitor_id:
            await self.app(scope, receive, send)
            return
        if method == "OPTIONS":
            await _send(send, 204, b"", PREFLIGHT_HEADERS, content_type=None)
            return
        state = scope["state"]
        body, too_big = await _read_body(receive)
        headers = dict(scope.get("headers", ()))
        raw_key = headers.get(_KEY)
        status, extra = 200, dict(CORS_HEADERS)
        try:
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
        await _send(send, status, raw, extra, content_type=b"application/json")


async def _send(
    send: Send, status: int, raw: bytes, headers: dict[str, str], *, content_type: bytes | None
) -> None:
    out = [(b"content-length", str(len(raw)).encode())]
    if content_type is not None:
        out.append((b"content-type", content_type))
    out.extend((k.lower().encode(), v.encode()) for k, v in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": raw})


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), size > MAX_BODY
