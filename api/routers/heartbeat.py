"""``/api/heartbeat/:token``: public pings from cron jobs, in the manner of Healthchecks.io.

``/api/heartbeat/<token>`` (GET or POST) reports success; ``/start`` marks the start
of a run, ``/fail`` a failure, ``/<0-255>`` an exit status (0 is success). A POST
body up to 10 KB is kept as the ping's log. Unknown tokens answer 404 and nothing
else. Pings are rate limited per token, per API process.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from alerting.heartbeats import Ping, PingKind, record_ping
from api.errors import ApiError

router = APIRouter(prefix="/api/heartbeat", tags=["heartbeat"])
PINGS_PER_MINUTE = 120
MAX_BODY = 100 * 1024


class TokenLimiter:
    """Fixed one-minute windows per token, in this process's memory."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._window = 0
        self._counts: dict[str, int] = {}

    def allow(self, token: str, now_s: float) -> tuple[bool, int]:
        window = int(now_s // 60)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(token, 0) + 1
        self._counts[token] = count
        return count <= self.per_minute, (window + 1) * 60


_limiter = TokenLimiter(PINGS_PER_MINUTE)


async def _ping(
    request: Request, token: str, kind: PingKind, status: int | None = None
) -> JSONResponse:
    # No dependencies: this is the hottest public endpoint, and FastAPI's dependency
    # solving costs about as much as the ping's own database work.
    store = request.app.state.store
    clock = request.app.state.clock
    ok, reset = _limiter.allow(token, time.time())
    if not ok:
        retry = max(1, int(reset - time.time()))
        raise ApiError(
            429,
            f"Too many pings for this heartbeat: at most {PINGS_PER_MINUTE} a minute",
            headers={"Retry-After": str(retry)},
        )
    body = await request.body() if request.method == "POST" else b""
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY]
    ping = Ping(
        kind=kind,
        exit_status=status,
        body=body,
        method=request.method,
        source_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    outcome = await record_ping(store, token, ping, clock=clock)
    if outcome == "unknown":
        raise ApiError(404, "Not found", code="not_found")
    payload: dict[str, Any] = {"ok": True}
    if outcome == "paused":
        payload["paused"] = True
    return JSONResponse(payload)


async def ping_success(request: Request, token: str) -> Any:
    """The job ran and succeeded."""
    return await _ping(request, token, "success")


async def ping_start(request: Request, token: str) -> Any:
    """The job started; the next success records how long it ran."""
    return await _ping(request, token, "start")


async def ping_fail(request: Request, token: str) -> Any:
    """The job failed: the monitor is DOWN at once."""
    return await _ping(request, token, "fail")


async def ping_exit(request: Request, token: str, exit_status: str) -> Any:
    """The job's exit status: 0 is success, 1-255 a failure."""
    if not exit_status.isdigit() or not 0 <= int(exit_status) <= 255:
        raise ApiError(404, "Not found", code="not_found")
    return await _ping(request, token, "exit", status=int(exit_status))


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
        )
