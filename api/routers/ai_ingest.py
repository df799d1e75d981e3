"""``POST /api/ai/ingest/:monitorId``: public AI event ingest, with CORS for browsers.

No API key: the monitor id routes the event. Because the id is visible in a web
page's source, an ingest is limited per monitor (per minute in this process, per
UTC day in the store) and an owner may require an ingest key
(``X-Vigil-Ingest-Key``). A paused, unknown or non-LLM monitor answers the same
bare 404.

At run time ``api.ai_lane`` answers this path ahead of FastAPI's routing (it is
a hot path); the route here documents it in OpenAPI and shares ``answer``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ai.event import MAX_BODY, parse_event
from ai.ingest import INGEST_KEY_HEADER, Accepted, IngestWriter
from ai.limits import ai_limits_for
from api.errors import ApiError, invalid
from api.openapi import body
from api.schemas.ai import AiEventIn, IngestAccepted, IngestRefused
from api.schemas.common import PUBLIC_ERRORS, Data, errors
from store.clock import Clock

router = APIRouter(prefix="/api/ai", tags=["ai"], responses={**PUBLIC_ERRORS, **errors(401)})
# How long an id that has no monitor is answered 404 without asking the store.
UNKNOWN_TTL_S = 10.0

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Retry-After, X-Request-Id",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": f"Content-Type, {INGEST_KEY_HEADER.title()}, X-Request-Id",
    "Access-Control-Max-Age": "86400",
}


class MonitorLimiter:
    """Fixed one-minute windows per monitor, in this process's memory."""

    def __init__(self) -> None:
        self._window = 0
        self._counts: dict[str, int] = {}

    def allow(self, monitor_id: str, per_minute: int, now_s: float) -> tuple[bool, int]:
        window = int(now_s // 60)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(monitor_id, 0) + 1
        self._counts[monitor_id] = count
        return count <= per_minute, (window + 1) * 60


def writer_for(app: Any) -> IngestWriter:
    """This app's ingest writer, made on first use (inside the running event loop)."""
    writer: IngestWriter | None = getattr(app.state, "ai_writer", None)
    if writer is None:
        writer = IngestWriter(app.state.store, app.state.clock)
        app.state.ai_writer = writer
        app.state.ai_limiter = MonitorLimiter()
    return writer


def _parse_body(body: bytes) -> Any:
    if len(body) > MAX_BODY:
        raise ApiError(413, f"Event body is larger than {MAX_BODY} bytes")
    if not body.strip():
        raise ApiError(
            400, "Request body is empty; send a JSON object", fields=[("body", "is empty")]
        )
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ApiError(
            400, f"Request body is not valid JSON: {exc}", fields=[("body", "is not valid JSON")]
        ) from None


def check_rate(app: Any, writer: IngestWriter, monitor_id: str, clock: Clock) -> None:
    """404 for an id known to have no monitor; 429 past the plan's per-minute limit."""
    now_s = clock.now().timestamp()
    missed = writer.unknown.get(monitor_id)
    if missed is not None and now_s - missed < UNKNOWN_TTL_S:
        raise ApiError(404, "Not found", code="not_found")
    # Until a batch has seen the monitor its plan is unknown: FREE, the strictest.
    plan = writer.plans.get(monitor_id, "FREE")
    per_minute = ai_limits_for(plan).events_per_minute
    ok, reset = app.state.ai_limiter.allow(monitor_id, per_minute, now_s)
    if not ok:
        retry = max(1, math.ceil(reset - now_s))
        raise ApiError(
            429,
            f"Too many events for this monitor: at most {per_minute:,} a minute on the "
            f"{plan} plan; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )


async def answer(app: Any, monitor_id: str, body: bytes, key: str | None) -> dict[str, Any]:
    """Validate and store one event; the response body, or ApiError."""
    clock: Clock = app.state.clock
    writer = writer_for(app)
    check_rate(app, writer, monitor_id, clock)
    event, issues = parse_event(_parse_body(body), now=clock.now())
    if event is None:
        raise invalid(issues)
    outcome = await writer.submit(monitor_id, event, key=key)
    if not isinstance(outcome, Accepted):
        raise ApiError(
            outcome.status,
            outcome.message,
            code=outcome.code,
            headers=outcome.headers,
            extra=outcome.extra,
        )
    return {
        "data": {
            "id": f"evt_{outcome.id}",
            "costUsd": outcome.cost_usd,
            "dailyEventsUsed": outcome.daily_used,
            "dailyEventsLimit": outcome.daily_limit,
        }
    }


_KEY_PARAMETER = {
    "name": "X-Vigil-Ingest-Key",
    "in": "header",
    "required": False,
    "description": "The monitor's ingest key, once the owner requires one",
    "schema": {"type": "string"},
}


_INGEST_EXTRA = body(AiEventIn)
# text/plain too: navigator.sendBeacon and "simple" CORS posts send it.
_INGEST_EXTRA["requestBody"]["content"]["text/plain"] = {
    "schema": {"type": "string", "description": "The same JSON object, as text/plain"}
}
_INGEST_EXTRA["parameters"] = [_KEY_PARAMETER]


@router.post(
    "/ingest/{monitor_id}",
    response_model=Data[IngestAccepted],
    openapi_extra=_INGEST_EXTRA,
    responses={429: {"model": IngestRefused, "description": "Per-minute or daily event limit"}},
)
async def ingest(monitor_id: str, request: Request) -> Any:
    """Ingest one AI event for an LLM monitor (no API key; CORS allowed)."""
    body = await request.body()
    payload = await answer(request.app, monitor_id, body, request.headers.get(INGEST_KEY_HEADER))
    return JSONResponse(payload, headers=CORS_HEADERS)


@router.options(
    "/ingest/{monitor_id}",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses={204: {"description": "CORS preflight: the methods and headers allowed"}},
)
async def ingest_preflight(monitor_id: str) -> Any:
    """CORS preflight for browsers posting events."""
    del monitor_id
    return Response(status_code=204, headers=PREFLIGHT_HEADERS)
