"""HEARTBEAT monitors keep one schedule row, in the pseudo-region ``heartbeat``.

Its ``next_run_at`` is the deadline (next expected ping + grace), found by the
sweep through the (region, next_run_at) index; its streaks feed the same incident
evaluation as every other check.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from checks.heartbeat_config import deadline
from store.models import Monitor, MonitorSchedule

HEARTBEAT_REGION = "heartbeat"


async def sync_heartbeat(session: AsyncSession, monitor: Monitor, *, now: datetime) -> None:
    """Keep the monitor's deadline row: none while paused, recomputed on any change."""
    await session.execute(
        delete(MonitorSchedule).where(
            MonitorSchedule.monitor_id == monitor.id, MonitorSchedule.region != HEARTBEAT_REGION
        )
    )
    row = await session.get(MonitorSchedule, (monitor.id, HEARTBEAT_REGION))
    if not monitor.is_active:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        session.add(
            MonitorSchedule(
                monitor_id=monitor.id,
                region=HEARTBEAT_REGION,
                next_run_at=deadline(monitor.config, monitor.interval_s, now),
                consecutive_failures=0,
                consecutive_successes=0,
            )
        )
        return
    # Settings may have changed: the deadline counts from the last ping.
    row.next_run_at = deadline(monitor.config, monitor.interval_s, row.last_ping_at or now)
