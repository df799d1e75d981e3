"""``/api/heartbeat/:token``: public pings from cron jobs, in the manner of Healthchecks.io.

``/api/heartbeat/<token>`` (GET or POST) reports success; ``/start`` marks the start
of a run, ``/fail`` a failure, ``/<0-255>`` an exit status (0 is success). A POST
body up to 10 KB is kept as the ping's log. Unknown tokens answer 404
(``heartbeat_not_found``) and nothing else. Pings are rate limited per token, per
API process; an address that pings ``VIGIL_UNKNOWN_TOKENS_PER_MINUTE`` unknown tokens
in a minute is answered 429 for the rest of it, so tokens cannot be guessed at speed.

At run time ``api.heartbeat_lane`` answers these paths before the router is reached
(it is the hottest endpoint); the routes here document them in OpenAPI and share
``answer`` with the lane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import WithJsonSchema

from alerting.heartbeats import Ping, PingKind, record_ping
from api.errors import ApiError, not_found
from api.schemas.common import PUBLIC_ERRORS
from api.schemas.system import PingAnswer
from store.clock import Clock
from store.db import Store

router = APIRouter(prefix="/api/heartbeat", tags=["heartbeat"], responses=PUBLIC_ERRORS)
PINGS_PER_MINUTE = 120
ExitStatus = Annotated[
    str, WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 255}), Path()
]
MAX_BODY = 100 * 1024


class TokenLimiter:
    """Fixed one-minute windows per token, in this process's memory."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._window = 0
        self._counts: dict[str, int] = {}

    def allow(self, token: str, now_s: float) -> tuple[bool, int]:
        """Count one event for ``token``; (still within the limit, window end unix s)."""
        self._roll(now_s)
        count = self._counts.get(token, 0) + 1
        self._counts[token] = count
        return count <= self.per_minute, (self._window + 1) * 60

    def exhausted(self, token: str, now_s: float) -> bool:
        """Whether ``token`` used up this window, without counting."""
        self._roll(now_s)
        return self._counts.get(token, 0) >= self.per_minute

    def _roll(self, now_s: float) -> None:
        window = int(now_s // 60)
        if window != self._window:
            self._window, self._counts = window, {}


@dataclass
class PingLimits:
    """One app's ping limiters: per token, and unknown tokens per client address."""

    unknown: TokenLimiter
    per_token: TokenLimiter = field(default_factory=lambda: TokenLimiter(PINGS_PER_MINUTE))


def parse_suffix(suffix: str | None) -> tuple[PingKind, int | None]:
    """What a path suffix means; ApiError 404 for anything else."""
    if suffix is None:
        return "success", None
    if suffix in ("start", "fail"):
        return suffix, None  # type: ignore[return-value]
    if suffix.isascii() and suffix.isdigit() and len(suffix) <= 3 and int(suffix) <= 255:
        return "exit", int(suffix)
    if not suffix.isascii() and suffix.isdigit():
        # Digits of another script (or superscripts) are not an exit status.
        raise ApiError(
            400,
            "The exit status must be written in ASCII digits 0-255, like /api/heartbeat/<token>/1",
            fields=[("exitStatus", "must be ASCII digits 0-255")],
        )
    raise ApiError(
        404,
        "Not found: a heartbeat URL ends in nothing, /start, /fail or an exit status 0-255",
        code="endpoint_not_found",
    )


async def answer(
    store: Store,
    clock: Clock,
    *,
    method: str,
    token: str,
    suffix: str | None,
    body: bytes,
    source_ip: str | None,
    user_agent: str | None,
    limits: PingLimits,
) -> dict[str, Any]:
    """Record one ping and return the response body; ApiError for 404 and 429."""
    kind, status = parse_suffix(suffix)
    now_s = clock.now().timestamp()
    address = source_ip or "unknown"
    if limits.unknown.exhausted(address, now_s):
        raise ApiError(
            429,
            f"Too many unknown heartbeat tokens from this address (at most "
            f"{limits.unknown.per_minute} a minute); check the URL",
            headers={"Retry-After": str(max(1, int((int(now_s // 60) + 1) * 60 - now_s)))},
        )
    ok, reset = limits.per_token.allow(token, now_s)
    if not ok:
        retry = max(1, math.ceil(reset - now_s))
        raise ApiError(
            429,
            f"Too many pings for this heartbeat: at most {PINGS_PER_MINUTE} a minute",
            headers={"Retry-After": str(retry)},
        )
    ping = Ping(
        kind=kind,
        exit_status=status,
        body=body[:MAX_BODY],
        method=method,
        source_ip=source_ip,
        user_agent=user_agent,
    )
    outcome = await record_ping(store, token, ping, clock=clock)
    if outcome == "unknown":
        limits.unknown.allow(address, now_s)
        raise not_found("heartbeat")
    return {"ok": True, "paused": True} if outcome == "paused" else {"ok": True}


async def _route(request: Request, token: str, suffix: str | None) -> JSONResponse:
    body = await request.body() if request.method == "POST" else b""
    payload = await answer(
        request.app.state.store,
        request.app.state.clock,
        method=request.method,
        token=token,
        suffix=suffix,
        body=body,
        source_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        limits=request.app.state.ping_limits,
    )
    return JSONResponse(payload)


async def ping_success(request: Request, token: str) -> Any:
    """The job ran and succeeded."""
    return await _route(request, token, None)


async def ping_start(request: Request, token: str) -> Any:
    """The job started; the next success records how long it ran."""
    return await _route(request, token, "start")


async def ping_fail(request: Request, token: str) -> Any:
    """The job failed: the monitor is DOWN at once."""
    return await _route(request, token, "fail")


async def ping_exit(request: Request, token: str, exit_status: ExitStatus) -> Any:
    """The job's exit status: 0 is success, 1-255 a failure."""
    return await _route(request, token, exit_status)


_PING_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "Kept as the ping's log (the first 100 KB)",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}

# GET and POST are separate routes so each has its own OpenAPI operation id.
for _path, _handler in (
    ("/{token}", ping_success),
    ("/{token}/start", ping_start),
    ("/{token}/fail", ping_fail),
    ("/{token}/{exit_status}", ping_exit),
):
    for _method in ("GET", "POST"):
        router.add_api_route(
            _path,
            _handler,
            methods=[_method],
            operation_id=f"{_handler.__name__}_{_method.lower()}",
            response_model=PingAnswer,
            response_model_exclude_unset=True,
            openapi_extra=_PING_BODY if _method == "POST" else None,
        )
