"""Alert channel queries, always scoped to one organization."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import new_id
from store.models import AlertChannel, Monitor
from store.status_page_models import SUBSCRIBER_CHANNEL


async def list_channels(session: AsyncSession, org_id: str) -> Sequence[AlertChannel]:
    """The organization's channels, oldest first (the order people added them)."""
    return (
        await session.scalars(
            select(AlertChannel)
            .where(AlertChannel.org_id == org_id, AlertChannel.type != SUBSCRIBER_CHANNEL)
            .order_by(AlertChannel.created_at, AlertChannel.id)
        )
    ).all()


async def get_channel(session: AsyncSession, org_id: str, channel_id: str) -> AlertChannel | None:
    channel: AlertChannel | None = await session.scalar(
        select(AlertChannel).where(
            AlertChannel.id == channel_id,
            AlertChannel.org_id == org_id,
            AlertChannel.type != SUBSCRIBER_CHANNEL,
        )
    )
    return channel


async def create_channel(
    session: AsyncSession,
    org_id: str,
    *,
    name: str,
    channel_type: str,
    config: Mapping[str, Any],
    is_active: bool,
    now: datetime,
) -> AlertChannel:
    channel = AlertChannel(
        id=new_id("ac"),
        org_id=org_id,
        name=name,
        type=channel_type,
        config=dict(config),
        is_active=is_active,
        created_at=now,
        updated_at=now,
    )
    session.add(channel)
    await session.flush()
    return channel


async def update_channel(
    session: AsyncSession, channel: AlertChannel, values: Mapping[str, Any], *, now: datetime
) -> AlertChannel:
    """Set the given columns (``name``, ``config``, ``is_active``)."""
    for column, value in values.items():
        setattr(channel, column, value)
    channel.updated_at = now
    await session.flush()
    return channel


async def delete_channel(
    session: AsyncSession, channel: AlertChannel, *, now: datetime
) -> list[str]:
    """Delete the channel and drop it from every monitor that names it.

    Returns the ids of the monitors changed. A monitor left with an empty list stays
    empty (no channels), never ``None`` (every channel): deleting a channel must not
    make a monitor alert channels it was kept away from. Its queued alerts go with it
    (the outbox's foreign key cascades).
    """
    # alert_channels is a JSON list; filtering it portably (SQLite and PostgreSQL)
    # is simplest in Python, and an organization has at most a few thousand monitors.
    monitors = await session.scalars(
        select(Monitor).where(Monitor.org_id == channel.org_id, Monitor.alert_channels.is_not(None))
    )
    changed: list[str] = []
    for monitor in monitors:
        listed = monitor.alert_channels or []
        if channel.id in listed:
            monitor.alert_channels = [c for c in listed if c != channel.id]
            monitor.updated_at = now
            changed.append(monitor.id)
    await session.flush()
    await session.execute(delete(AlertChannel).where(AlertChannel.id == channel.id))
    return changed
