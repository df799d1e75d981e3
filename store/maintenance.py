"""Maintenance windows: which are in force for a monitor at a moment, and their CRUD."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import new_id
from store.models import MaintenanceWindow, Monitor


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


WindowFilter = Literal["active", "upcoming", "past"]


async def list_windows(
    session: AsyncSession, org_id: str, *, which: WindowFilter | None, now: datetime
) -> Sequence[tuple[MaintenanceWindow, Monitor | None]]:
    """The organization's windows with their monitor (None for org-wide ones).

    ``active``: enabled and covering ``now``; ``upcoming``: enabled and not yet
    started; ``past``: ended, enabled or not. Past windows come most recent first,
    the others in start order.
    """
    query = (
        select(MaintenanceWindow, Monitor)
        .outerjoin(Monitor, Monitor.id == MaintenanceWindow.monitor_id)
        .where(MaintenanceWindow.org_id == org_id)
    )
    enabled = MaintenanceWindow.is_active.is_(True)
    if which == "active":
        query = query.where(
            enabled, MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now
        )
    elif which == "upcoming":
        query = query.where(enabled, MaintenanceWindow.starts_at > now)
    elif which == "past":
        query = query.where(MaintenanceWindow.ends_at <= now)
    if which == "past":
        query = query.order_by(MaintenanceWindow.ends_at.desc(), MaintenanceWindow.id)
    else:
        query = query.order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
    rows = await session.execute(query)
    return [(w, m) for w, m in rows]


async def get_window(
    session: AsyncSession, org_id: str, window_id: str
) -> tuple[MaintenanceWindow, Monitor | None] | None:
    row = (
        await session.execute(
            select(MaintenanceWindow, Monitor)
            .outerjoin(Monitor, Monitor.id == MaintenanceWindow.monitor_id)
            .where(MaintenanceWindow.id == window_id, MaintenanceWindow.org_id == org_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def create_window(
    session: AsyncSession, org_id: str, values: Mapping[str, Any], *, now: datetime
) -> MaintenanceWindow:
    """Insert a window from column values (title, description, monitor_id, starts_at, ...)."""
    window = MaintenanceWindow(id=new_id("mw"), org_id=org_id, is_active=True, created_at=now)
    for column, value in values.items():
        setattr(window, column, value)
    session.add(window)
    await session.flush()
    return window


async def update_window(
    session: AsyncSession, window: MaintenanceWindow, values: Mapping[str, Any]
) -> MaintenanceWindow:
    for column, value in values.items():
        setattr(window, column, value)
    await session.flush()
    return window


async def delete_window(session: AsyncSession, window: MaintenanceWindow) -> None:
    await session.execute(delete(MaintenanceWindow).where(MaintenanceWindow.id == window.id))
