"""``/api/monitors/:id/performance``: timing averages, p95 and a time series."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import WithJsonSchema

from api.deps import AuthDep, ClockDep, SessionDep
from api.errors import invalid, not_found
from api.openapi import EMPTY_IS_ABSENT
from api.pagination import parse_int
from api.schemas.common import API_ERRORS, Data
from api.schemas.monitors import Performance
from api.serialize import iso
from store.monitors import get_monitor
from store.performance import performance, performance_from_rollups

router = APIRouter(prefix="/api/monitors", tags=["monitors"], responses=API_ERRORS)
HoursQuery = Annotated[
    str | None,
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 168, EMPTY_IS_ABSENT: True}),
    Query(description="Time range in hours, 1-168 (default 24)"),
]
# Past a day the series is hourly: the hourly rollups hold exactly its points.
ROLLUP_FROM_HOURS = 24


@router.get("/{monitor_id}/performance", response_model=Data[Performance])
async def monitor_performance(
    monitor_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    hours: HoursQuery = None,
) -> dict[str, Any]:
    """Phase timings (dns, tcp, tls, ttfb, download, total, ms) and size of recent checks.

    Failed (DOWN) checks are left out: their timings measure the failure, not the
    service. ``sampleCount`` is the number of checks the figures come from.
    Past 24 hours everything comes from the hourly rollups (whole hours, from the hour
    ``hours`` ago): p95 is then read from per-phase latency histograms, within 12 % of
    the exact value (exact for a phase that always took the same time).
    """
    issues: list[tuple[str, str]] = []
    span = parse_int(hours, "hours", default=24, low=1, high=168, issues=issues)
    if issues:
        raise invalid(issues)
    monitor = await get_monitor(session, auth.org_id, monitor_id)
    if monitor is None:
        raise not_found("monitor")
    since = clock.now() - timedelta(hours=span)
    if span > ROLLUP_FROM_HOURS:
        data = await performance_from_rollups(session, monitor.id, since=since)
    else:
        data = await performance(session, monitor.id, since=since, hours=span)
    for point in data["timeSeries"]:
        point["timestamp"] = iso(point["timestamp"])
    return {"data": data}
