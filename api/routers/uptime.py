"""``/api/monitors/:id/uptime`` and ``/api/monitors/:id/sla``, from the rollups."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import WithJsonSchema

from api.deps import AuthDep, ClockDep, SessionDep
from api.errors import invalid, not_found
from api.openapi import EMPTY_IS_ABSENT
from api.pagination import parse_int
from api.schemas.common import API_ERRORS, Data, int_query, one_of
from api.schemas.uptime import Sla, Uptime
from api.serialize import iso
from store.monitors import get_monitor
from store.sla import by_month, floor2, month_start
from store.uptime import DayUptime, UptimeSummary, uptime_days

router = APIRouter(prefix="/api/monitors", tags=["monitors"], responses=API_ERRORS)

PERIODS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "365d": timedelta(days=365),
}


def _day_json(d: DayUptime) -> dict[str, Any]:
    return {
        "date": d.date.isoformat(),
        "uptime": d.uptime_by_time,
        "uptimeByChecks": d.uptime_by_checks,
        "downtimeSeconds": round(d.downtime_s),
        "maintenanceSeconds": round(d.maintenance_s),
        "noDataSeconds": round(d.no_data_s),
        "worstStatus": d.worst_status,
        "incidents": d.incidents,
        "checks": d.checks,
    }


def _summary_json(s: UptimeSummary) -> dict[str, Any]:
    return {
        "uptimeByTime": s.uptime_by_time,
        "uptimeByChecks": s.uptime_by_checks,
        "degradedPercent": s.degraded_percent,
        "checks": {
            "total": s.checks,
            "up": s.checks - s.degraded - s.down,
            "degraded": s.degraded,
            "down": s.down,
        },
        "downtimeSeconds": round(s.downtime_s),
        "maintenanceSeconds": round(s.maintenance_s),
        "noDataSeconds": round(s.no_data_s),
        "observedSeconds": round(s.observed_s),
        "incidents": s.incidents,
    }


@router.get("/{monitor_id}/uptime", response_model=Data[Uptime])
async def monitor_uptime(
    monitor_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    period: Annotated[
        str | None,
        # "" is taken as the default, as an absent parameter.
        one_of(("", *PERIODS)),
        Query(description="24h, 7d, 30d (default), 90d or 365d"),
    ] = None,
) -> dict[str, Any]:
    """Uptime by checks and by time over the last ``period``, with a daily series.

    By checks: (UP + DEGRADED) / checks. By time: observed time outside incidents,
    where maintenance and time with no checks are taken out and reported apart.
    Percentages are truncated to 3 decimals, never rounded up to 100.
    """
    span = PERIODS.get(period or "30d")
    if span is None:
        raise invalid([("period", "must be one of " + ", ".join(PERIODS))])
    monitor = await get_monitor(session, auth.org_id, monitor_id)
    if monitor is None:
        raise not_found("monitor")
    now = clock.now()
    since = now - span
    days = (await uptime_days(session, [monitor.id], since=since, until=now))[monitor.id]
    return {
        "data": {
            "monitorId": monitor.id,
            "period": period or "30d",
            "from": iso(since),
            "to": iso(now),
            **_summary_json(UptimeSummary(days)),
            "daily": [_day_json(d) for d in days],
        }
    }


def _parse_target(raw: str | None, issues: list[tuple[str, str]]) -> float:
    if raw is None or raw == "":
        return 99.9
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 100:
        issues.append(("target", "must be a percentage above 0 and below 100, such as 99.9"))
    return value


@router.get("/{monitor_id}/sla", response_model=Data[Sla])
async def monitor_sla(
    monitor_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    target: Annotated[
        str | None,
        WithJsonSchema(
            {
                "type": "number",
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 100,
                EMPTY_IS_ABSENT: True,
            }
        ),
        Query(description="Uptime target in percent (default 99.9)", examples=[99.9]),
    ] = None,
    months: Annotated[
        str | None, int_query(1, 36), Query(description="Calendar months, 1-36 (default 12)")
    ] = None,
) -> dict[str, Any]:
    """Per calendar month (UTC, the current one last and partial): uptime by time,
    whether it met ``target``, and the error budget in minutes of observed time."""
    issues: list[tuple[str, str]] = []
    goal = _parse_target(target, issues)
    count = parse_int(months, "months", default=12, low=1, high=36, issues=issues)
    if issues:
        raise invalid(issues)
    monitor = await get_monitor(session, auth.org_id, monitor_id)
    if monitor is None:
        raise not_found("monitor")
    now = clock.now()
    since = month_start(now, count - 1)
    days = (await uptime_days(session, [monitor.id], since=since, until=now))[monitor.id]
    return {
        "data": {
            "monitorId": monitor.id,
            "target": goal,
            "months": [
                {
                    "month": m.month.strftime("%Y-%m"),
                    "complete": m.complete,
                    "uptime": m.summary.uptime_by_time,
                    "met": m.met,
                    "downtimeSeconds": round(m.summary.downtime_s),
                    "maintenanceSeconds": round(m.summary.maintenance_s),
                    "noDataSeconds": round(m.summary.no_data_s),
                    "incidents": m.summary.incidents,
                    "errorBudget": {
                        "allowedMinutes": floor2(m.allowed_minutes),
                        "usedMinutes": floor2(m.used_minutes),
                        "remainingMinutes": floor2(m.remaining_minutes),
                    },
                }
                for m in by_month(days, target=goal, now=now)
            ],
        }
    }
