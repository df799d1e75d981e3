"""A short lane for heartbeat pings, ahead of FastAPI's routing and dependency layers.

Pings are the one public endpoint cron jobs hit by the thousand; going through the
full framework stack cost more CPU than recording the ping. The lane answers
exactly what the routes in ``api.routers.heartbeat`` answer, through the same
``answer`` function, with the same error body.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import ApiError
from api.routers.heartbeat import MAX_BODY, answer
from api.unavailable import store_failed

log = logging.getLogger("vigil.api")
PREFIX = "/api/heartbeat/"


class HeartbeatLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        method: str = scope.get("method", "")
        parts = path[len(PREFIX) :].split("/") if path.startswith(PREFIX) else []
        if scope["type"] != "http" or method not in ("GET", "POST") or not 1 <= len(parts) <= 2:
            await self.app(scope, receive, send)
            return
        state = scope["state"]
        headers = dict(scope.get("headers", ()))
        client = scope.get("client")
        status, extra = 200, {}
        try:
            body = await _read_body(receive) if method == "POST" else b""
            payload: dict[str, Any] = await answer(
                scope["app"].state.store,
                scope["app"].state.clock,
                method=method,
                token=parts[0],
                suffix=parts[1] if len(parts) == 2 else None,
                body=body,
                source_ip=client[0] if client else None,
                user_agent=headers.get(b"user-agent", b"").decode("latin-1") or None,
                limits=scope["app"].state.ping_limits,
            )
        except ClientDisconnect:
            log.info(
                "heartbeat ping: client disconnected before sending its body [%s]",
                state["request_id"],
            )
            return
        except ApiError as err:
            status, extra = err.status, err.headers
            payload = {"error": err.message, "code": err.code}
            if err.fields:
                payload["fields"] = [{"field": f, "issue": i} for f, i in err.fields]
            payload["requestId"] = state["request_id"]
        except Exception as exc:
            unavailable = store_failed(exc, scope["app"].state.store)
            if unavailable is not None:
                # The ping is not recorded: the cron job's retry (or next run) tells again.
                status, extra = unavailable.status, unavailable.headers
                payload = {
                    "error": unavailable.message,
                    "code": unavailable.code,
                    "requestId": state["request_id"],
                }
            else:
                log.exception("heartbeat ping failed [%s]", state["request_id"])
                status = 500
                payload = {
                    "error": f"Internal error; report request id {state['request_id']}",
                    "code": "internal_error",
                    "requestId": state["request_id"],
                }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        response_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in extra.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": raw})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        if size < MAX_BODY:
            chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
