"""``/api/dashboard/stats`` and ``/api/billing``: counts for the organization."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import case, func, select

from api.deps import AuthDep, ClockDep, SessionDep
from api.schemas.account import Billing, DashboardStats
from api.schemas.common import API_ERRORS, Data
from store.models import CheckResult, Incident, Monitor
from store.monitors import count_monitors
from store.plans import limits_for

router = APIRouter(tags=["dashboard"], responses=API_ERRORS)


@router.get("/api/dashboard/stats", response_model=Data[DashboardStats])
async def stats(auth: AuthDep, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """Monitors, monitors down now, 30-day uptime %, incidents started today (UTC)."""
    now = clock.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    total = await count_monitors(session, auth.org_id)
    down = await session.scalar(
        select(func.count(func.distinct(Incident.monitor_id))).where(
            Incident.org_id == auth.org_id, Incident.is_active.is_(True)
        )
    )
    up_count = func.sum(case((CheckResult.status != "DOWN", 1), else_=0))
    row = (
        await session.execute(
            select(up_count, func.count())
            .select_from(CheckResult)
            .join(Monitor, Monitor.id == CheckResult.monitor_id)
            .where(
                Monitor.org_id == auth.org_id, CheckResult.checked_at >= now - timedelta(days=30)
            )
        )
    ).one()
    ups, checks = int(row[0] or 0), int(row[1] or 0)
    today = await session.scalar(
        select(func.count()).where(Incident.org_id == auth.org_id, Incident.started_at >= midnight)
    )
    return {
        "data": {
            "totalMonitors": total,
            "currentlyDown": int(down or 0),
            "avgUptime": round(100.0 * ups / checks, 2) if checks else 100.0,
            "incidentsToday": int(today or 0),
        }
    }


@router.get("/api/billing", response_model=Billing)
async def billing(auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """Plan and monitor usage. The reference shows these fields bare; ``data`` repeats them."""
    info = {
        "plan": auth.org.plan,
        "monitorCount": await count_monitors(session, auth.org_id),
        "monitorLimit": limits_for(auth.org.plan).monitor_limit,
    }
    return {**info, "data": info}
