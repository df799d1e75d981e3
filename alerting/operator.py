"""Alerts for the people who run Vigil itself, not for a monitor's owners.

The operator is the first organization (the one ``vigil run`` bootstraps); its
active channels hear about a worker whose canary says its own network is broken,
once per sickness, instead of every monitor of its region paging.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.channels.base import AlertEvent
from alerting.outbox import enqueue
from store.base import new_id
from store.models import AlertChannel, Organization


async def alert_sick_worker(
    session: AsyncSession, *, worker_id: str, region: str, error: str, now: datetime
) -> int:
    """Queue one ``worker.unhealthy`` alert to the operator's channels; returns rows written."""
    org_id = await session.scalar(
        select(Organization.id).order_by(Organization.created_at, Organization.id).limit(1)
    )
    if org_id is None:
        return 0
    channels = list(
        await session.scalars(
            select(AlertChannel.id)
            .where(AlertChannel.org_id == org_id, AlertChannel.is_active.is_(True))
            .order_by(AlertChannel.id)
        )
    )
    event = AlertEvent(
        id=new_id("evt"),
        type="worker.unhealthy",
        monitor_id="",
        monitor_name=f"worker {worker_id}",
        monitor_url="",
        occurred_at=now,
        cause=(
            f"{error}. Its failures do not count toward any monitor's quorum until its "
            f"canary passes; healthy workers of {region} take over its checks."
        ),
        regions=(region,),
        details={"workerId": worker_id, "region": region},
    )
    return await enqueue(session, event, org_id=org_id, channel_ids=channels, now=now)
