"""Confirmation from another region before an incident opens (``confirm_other_region``).

A failure confirmed in one region does not open the incident by itself: every other
region of the monitor is asked to check again at once (its schedule row falls due
now), and the incident opens only when another region agrees, that is, its latest
result failed too. Until then the monitor stays UP; if the other regions answer UP,
nothing opens and nobody is paged. As Checkly and UptimeRobot do it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Monitor, MonitorSchedule


def asks_confirmation(monitor: Monitor) -> bool:
    return bool(monitor.confirm_other_region) and len(monitor.regions) > 1


def agreeing(failing: Sequence[str], failures: dict[str, int]) -> list[str]:
    """Regions that back the failing ones: another region failing, or whose last check failed.

    Empty while only one region says the target is down.
    """
    others = sorted(r for r, n in failures.items() if n > 0 and r not in failing)
    if len(failing) > 1:
        return [*failing[1:], *others]
    return others


async def request_recheck(
    session: AsyncSession, monitor: Monitor, failing: Sequence[str], *, now: datetime
) -> None:
    """Make every other region's schedule row of ``monitor`` due now."""
    await session.execute(
        update(MonitorSchedule)
        .where(
            MonitorSchedule.monitor_id == monitor.id,
            MonitorSchedule.region.in_(sorted(set(monitor.regions) - set(failing))),
            MonitorSchedule.next_run_at > now,
        )
        .values(next_run_at=now)
    )
