"""Reading incidents, scoped to one organization."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Incident, Monitor


def _filtered(
    org_id: str, *, active: bool | None, monitor_id: str | None
) -> Select[Incident, Monitor]:
    query = (
        select(Incident, Monitor)
        .join(Monitor, Monitor.id == Incident.monitor_id)
        .where(Incident.org_id == org_id)
    )
    if active is not None:
        query = query.where(Incident.is_active.is_(active))
    if monitor_id is not None:
        query = query.where(Incident.monitor_id == monitor_id)
    return query


async def list_incidents(
    session: AsyncSession,
    org_id: str,
    *,
    active: bool | None = None,
    monitor_id: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[Sequence[tuple[Incident, Monitor]], int]:
    """Newest first, with the total count for pagination."""
    query = _filtered(org_id, active=active, monitor_id=monitor_id)
    total = await session.scalar(
        select(func.count()).select_from(query.with_only_columns(Incident.id).subquery())
    )
    rows = await session.execute(
        query.order_by(Incident.started_at.desc(), Incident.id.desc()).offset(offset).limit(limit)
    )
    return [(incident, monitor) for incident, monitor in rows], int(total or 0)
