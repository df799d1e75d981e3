"""Periodic alert duties: alerts held back by maintenance, and reminders while down."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.evaluator import down_event
from alerting.flapping import release_stable
from alerting.outbox import channels_for, enqueue
from store.clock import SystemClock
from store.db import Store
from store.maintenance import in_maintenance
from store.models import Artifact, IdempotencyKey, Incident, Monitor

log = logging.getLogger(__name__)


async def release_maintenance_alerts(session: AsyncSession, *, now: datetime) -> int:
    """Alert for incidents opened during maintenance whose window is over, still down."""
    rows = await session.execute(
        select(Incident, Monitor)
        .join(Monitor, Monitor.id == Incident.monitor_id)
        .where(
            Incident.is_active.is_(True),
            Incident.down_alerted_at.is_(None),
            # Not paged because the monitor flaps: the stable alert settles those.
            Incident.flapping.is_(False),
            Monitor.is_active.is_(True),
        )
        .with_for_update(of=Incident, skip_locked=True)
    )
    sent = 0
    for incident, monitor in rows:
        if await in_maintenance(session, org_id=monitor.org_id, monitor_id=monitor.id, now=now):
            continue
        incident.down_alerted_at = now
        channels = await channels_for(session, monitor)
        await enqueue(
            session,
            down_event(monitor, incident, now=now),
            org_id=monitor.org_id,
            channel_ids=channels,
            now=now,
        )
        sent += 1
        log.info("maintenance over, monitor %s still down: alerting", monitor.id)
    return sent


async def send_reminders(session: AsyncSession, *, now: datetime) -> int:
    """Remind every ``reminder_interval_min`` minutes while an alerted incident stays open."""
    rows = await session.execute(
        select(Incident, Monitor)
        .join(Monitor, Monitor.id == Incident.monitor_id)
        .where(
            Incident.is_active.is_(True),
            Incident.down_alerted_at.is_not(None),
            Monitor.reminder_interval_min.is_not(None),
            Monitor.is_active.is_(True),
        )
        .with_for_update(of=Incident, skip_locked=True)
    )
    sent = 0
    for incident, monitor in rows:
        assert monitor.reminder_interval_min is not None and incident.down_alerted_at is not None
        last = incident.last_reminder_at or incident.down_alerted_at
        if now - last < timedelta(minutes=monitor.reminder_interval_min):
            continue
        if await in_maintenance(session, org_id=monitor.org_id, monitor_id=monitor.id, now=now):
            continue
        incident.last_reminder_at = now
        event = down_event(monitor, incident, now=now)
        event = replace(event, is_reminder=True)
        channels = await channels_for(session, monitor)
        await enqueue(session, event, org_id=monitor.org_id, channel_ids=channels, now=now)
        sent += 1
    return sent


IDEMPOTENCY_KEEP = timedelta(hours=24)
ARTIFACT_KEEP = timedelta(days=30)


async def purge_expired(session: AsyncSession, *, now: datetime) -> tuple[int, int]:
    """Forget idempotency keys after 24 h and screenshots after 30 days."""
    keys = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - IDEMPOTENCY_KEEP)
    )
    shots = await session.execute(delete(Artifact).where(Artifact.created_at < now - ARTIFACT_KEEP))
    return int(getattr(keys, "rowcount", 0) or 0), int(getattr(shots, "rowcount", 0) or 0)


async def run_alert_duties(store: Store, *, now: datetime | None = None) -> tuple[int, int]:
    """One pass of the periodic duties; returns (maintenance alerts, reminders) queued."""
    now = now or SystemClock().now()
    async with store.transaction() as session:
        released = await release_maintenance_alerts(session, now=now)
    async with store.transaction() as session:
        reminded = await send_reminders(session, now=now)
    async with store.transaction() as session:
        await release_stable(session, now=now)
    async with store.transaction() as session:
        await purge_expired(session, now=now)
    return released, reminded
