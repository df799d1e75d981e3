"""Telling an organization's other channels that one of its channels keeps failing.

Once per failing episode of a channel (from its first failed attempt to its next
delivery): when it has been failing for ``after_s``, or at once when one of its
alerts is dead-lettered. The notice goes through the outbox like any alert.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.channels.base import AlertEvent
from alerting.outbox import enqueue
from store.base import new_id
from store.channel_health import ChannelHealth
from store.models import AlertChannel

log = logging.getLogger(__name__)

NOTICE_AFTER_S = 600.0


async def notify_failing(
    session: AsyncSession,
    health: ChannelHealth,
    *,
    channel_name: str,
    now: datetime,
    dead_letter: bool,
    after_s: float = NOTICE_AFTER_S,
) -> int:
    """Queue the notice if it is due; returns how many channels it went to."""
    if health.notified_at is not None:
        return 0
    if not dead_letter and now - health.failing_since < timedelta(seconds=after_s):
        return 0
    others = sorted(
        await session.scalars(
            select(AlertChannel.id).where(
                AlertChannel.org_id == health.org_id,
                AlertChannel.is_active.is_(True),
                AlertChannel.id != health.channel_id,
            )
        )
    )
    health.notified_at = now
    if not others:
        return 0
    event = AlertEvent(
        id=new_id("evt"),
        type="channel.failing",
        monitor_id="",
        monitor_name=channel_name,
        monitor_url="",
        occurred_at=now,
        cause=health.last_error,
        started_at=health.failing_since,
        details={
            "channelId": health.channel_id,
            "failingSince": health.failing_since.isoformat(),
            "failedAttempts": health.failures,
            "deadLettered": dead_letter,
        },
    )
    await enqueue(session, event, org_id=health.org_id, channel_ids=others, now=now)
    log.warning(
        "channel %s (%s) keeps failing since %s: told %d other channels",
        health.channel_id,
        channel_name,
        health.failing_since.isoformat(),
        len(others),
    )
    return len(others)
