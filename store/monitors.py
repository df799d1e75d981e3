"""Monitor queries, always scoped to one organization."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import new_id
from store.models import AlertChannel, CheckResult, Monitor
from store.schedules import sync_schedules

LAST_CHECKS_SLICE = 1000


async def get_monitor(session: AsyncSession, org_id: str, monitor_id: str) -> Monitor | None:
    monitor: Monitor | None = await session.scalar(
        select(Monitor).where(Monitor.id == monitor_id, Monitor.org_id == org_id)
    )
    return monitor


async def count_monitors(session: AsyncSession, org_id: str) -> int:
    query = select(func.count()).select_from(Monitor).where(Monitor.org_id == org_id)
    return int(await session.scalar(query) or 0)


async def list_monitors(
    session: AsyncSession, org_id: str, *, offset: int, limit: int | None
) -> Sequence[Monitor]:
    """Newest first, as the reference orders them; ``limit=None`` for all of them."""
    query = (
        select(Monitor)
        .where(Monitor.org_id == org_id)
        .order_by(Monitor.created_at.desc(), Monitor.id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return (await session.scalars(query)).all()


async def last_checks(session: AsyncSession, monitor_ids: Sequence[str]) -> dict[str, CheckResult]:
    """Each monitor's most recent result, found through the (monitor_id, checked_at) index."""
    found: dict[str, CheckResult] = {}
    # In slices: a list of every monitor must stay under the drivers' bound-parameter limits.
    for start in range(0, len(monitor_ids), LAST_CHECKS_SLICE):
        found.update(await _last_checks(session, monitor_ids[start : start + LAST_CHECKS_SLICE]))
    return found


async def _last_checks(session: AsyncSession, monitor_ids: Sequence[str]) -> dict[str, CheckResult]:
    latest = (
        select(CheckResult.checked_at)
        .where(CheckResult.monitor_num == Monitor.num)
        .order_by(CheckResult.checked_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    found = await session.execute(
        select(Monitor.id, Monitor.num, latest).where(Monitor.id.in_(monitor_ids))
    )
    ids = {}
    pairs = []
    for monitor_id, num, at in found:
        if at is not None:
            ids[num] = monitor_id
            pairs.append((num, at))
    if not pairs:
        return {}
    # By (monitor, time), not by id: on PostgreSQL only that index spans the partitions.
    rows = await session.scalars(
        select(CheckResult)
        .where(tuple_(CheckResult.monitor_num, CheckResult.checked_at).in_(pairs))
        .order_by(CheckResult.id)
    )
    return {ids[r.monitor_num]: r for r in rows}


async def channel_ids(session: AsyncSession, org_id: str) -> frozenset[str]:
    rows = await session.scalars(select(AlertChannel.id).where(AlertChannel.org_id == org_id))
    return frozenset(rows)


async def create_monitor(
    session: AsyncSession, org_id: str, values: dict[str, Any], *, now: datetime
) -> Monitor:
    """Insert a monitor and its schedule rows; HEARTBEAT monitors get their token."""
    monitor = Monitor(id=new_id("mon"), org_id=org_id, created_at=now, updated_at=now)
    for column, value in values.items():
        setattr(monitor, column, value)
    if monitor.type == "HEARTBEAT":
        monitor.heartbeat_token = "hb_" + secrets.token_urlsafe(24)
        monitor.url = monitor.url or ""
    session.add(monitor)
    await session.flush()
    await sync_schedules(session, monitor, now=now)
    return monitor


async def update_monitor(
    session: AsyncSession, monitor: Monitor, values: dict[str, Any], *, now: datetime
) -> Monitor:
    for column, value in values.items():
        setattr(monitor, column, value)
    if monitor.type == "HEARTBEAT" and not monitor.heartbeat_token:
        monitor.heartbeat_token = "hb_" + secrets.token_urlsafe(24)
    monitor.updated_at = now
    await session.flush()
    await sync_schedules(session, monitor, now=now)
    return monitor
