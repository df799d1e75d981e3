"""Maintenance windows: which are in force for a monitor at a moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import MaintenanceWindow


async def in_maintenance(
    session: AsyncSession, *, org_id: str, monitor_id: str, now: datetime
) -> bool:
    """True when an enabled window, org-wide or for this monitor, covers ``now``."""
    found = await session.scalar(
        select(MaintenanceWindow.id)
        .where(
            MaintenanceWindow.org_id == org_id,
            MaintenanceWindow.is_active.is_(True),
            MaintenanceWindow.starts_at <= now,
            MaintenanceWindow.ends_at > now,
            or_(MaintenanceWindow.monitor_id.is_(None), MaintenanceWindow.monitor_id == monitor_id),
        )
        .limit(1)
    )
    return found is not None
