"""``/api/dashboard/stats`` and ``/api/billing``: counts for the organization."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select

from api.deps import AuthDep, ClockDep, SessionDep
from api.schemas.account import Billing, DashboardStats
from api.schemas.common import API_ERRORS, Data
from store.billing import over_limit
from store.models import Incident
from store.monitors import count_monitors
from store.plans import limits_for
from store.uptime import checks_since, percent

router = APIRouter(tags=["dashboard"], responses=API_ERRORS)


@router.get("/api/dashboard/stats", response_model=Data[DashboardStats])
async def stats(auth: AuthDep, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """Monitors, monitors down now, 30-day uptime % by checks, incidents started today (UTC).

    The uptime comes from the rollups: daily rows, and at most 12 hourly ones per monitor
    for the first day's edge.
    """
    now = clock.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    total = await count_monitors(session, auth.org_id)
    down = await session.scalar(
        select(func.count(func.distinct(Incident.monitor_id))).where(
            Incident.org_id == auth.org_id, Incident.is_active.is_(True)
        )
    )
    ups, checks = await checks_since(session, auth.org_id, since=now - timedelta(days=30), now=now)
    today = await session.scalar(
        select(func.count()).where(Incident.org_id == auth.org_id, Incident.started_at >= midnight)
    )
    return {
        "data": {
            "totalMonitors": total,
            "currentlyDown": int(down or 0),
            # Truncated, never rounded up: one failed check in a month is not 100.
            "avgUptime": percent(ups, checks) if checks else 100.0,
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
        # Monitors kept from a larger plan that this one would not allow today.
        "overLimit": (await over_limit(session, auth.org_id, auth.org.plan)).json(),
    }
    return {**info, "data": info}
