"""Keep the per-(monitor, region) schedule rows in step with the monitor's settings."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.heartbeats import sync_heartbeat
from store.models import Monitor, MonitorSchedule

SCHEDULED_TYPES = frozenset({"HTTP", "TCP", "PING", "DNS", "SSL", "BROWSER"})


def first_run_offset(monitor_id: str, region: str, interval_s: int) -> float:
    """A stable offset in [0, interval) so monitors created together spread out."""
    digest = hashlib.sha256(f"{monitor_id}/{region}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * interval_s


async def sync_schedules(session: AsyncSession, monitor: Monitor, *, now: datetime) -> None:
    """Create, keep or delete schedule rows so they match the monitor's regions and state."""
    if monitor.type == "HEARTBEAT":
        await sync_heartbeat(session, monitor, now=now)
        return
    rows = {
        s.region: s
        for s in await session.scalars(
            select(MonitorSchedule).where(MonitorSchedule.monitor_id == monitor.id)
        )
    }
    wanted = (
        set(monitor.regions) if monitor.is_active and monitor.type in SCHEDULED_TYPES else set()
    )
    gone = set(rows) - wanted
    if gone:
        await session.execute(
            delete(MonitorSchedule).where(
                MonitorSchedule.monitor_id == monitor.id, MonitorSchedule.region.in_(gone)
            )
        )
    for region in wanted - set(rows):
        offset = first_run_offset(monitor.id, region, monitor.interval_s)
        session.add(
            MonitorSchedule(
                monitor_id=monitor.id,
                region=region,
                next_run_at=now + timedelta(seconds=offset),
                consecutive_failures=0,
                consecutive_successes=0,
            )
        )
    for region in wanted & set(rows):
        row = rows[region]
        # An interval change takes effect from the next run: never later than one
        # new interval after the last check.
        if row.last_checked_at is not None:
            latest = row.last_checked_at + timedelta(seconds=monitor.interval_s)
            if row.next_run_at > latest:
                row.next_run_at = latest
