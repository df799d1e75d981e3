"""Writing alerts to the outbox, in the caller's transaction, one row per channel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.channels.base import AlertEvent, EventType
from store.base import new_id
from store.models import AlertChannel, AlertOutbox, Monitor
from store.status_page_models import SUBSCRIBER_CHANNEL

# The config key marking a channel Vigil made for one feature (not for every alert).
MANAGED_BY = "managedBy"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def event_to_json(event: AlertEvent) -> dict[str, Any]:
    """An event as stored in ``alert_outbox.payload``."""
    return {
        "id": event.id,
        "type": event.type,
        "monitorId": event.monitor_id,
        "monitorName": event.monitor_name,
        "monitorUrl": event.monitor_url,
        "occurredAt": _iso(event.occurred_at),
        "incidentId": event.incident_id,
        "cause": event.cause,
        "regions": list(event.regions),
        "startedAt": _iso(event.started_at),
        "resolvedAt": _iso(event.resolved_at),
        "durationS": event.duration_s,
        "isReminder": event.is_reminder,
        "details": dict(event.details),
    }


def event_from_json(data: Mapping[str, Any]) -> AlertEvent:
    occurred = _time(data.get("occurredAt"))
    assert occurred is not None, "stored events always carry occurredAt"
    return AlertEvent(
        id=str(data["id"]),
        type=cast(EventType, data["type"]),
        monitor_id=str(data.get("monitorId") or ""),
        monitor_name=str(data.get("monitorName") or ""),
        monitor_url=str(data.get("monitorUrl") or ""),
        occurred_at=occurred,
        incident_id=data.get("incidentId"),
        cause=data.get("cause"),
        regions=tuple(data.get("regions") or ()),
        started_at=_time(data.get("startedAt")),
        resolved_at=_time(data.get("resolvedAt")),
        duration_s=data.get("durationS"),
        is_reminder=bool(data.get("isReminder")),
        details=dict(data.get("details") or {}),
    )


async def channels_for(session: AsyncSession, monitor: Monitor) -> Sequence[str]:
    """The active channels that should hear about ``monitor``.

    ``alert_channels`` None means every active channel of the organization.
    """
    query = select(AlertChannel.id, AlertChannel.config).where(
        AlertChannel.org_id == monitor.org_id,
        AlertChannel.is_active.is_(True),
        # A status page subscriber hears of incidents through its page, not as an alert.
        AlertChannel.type != SUBSCRIBER_CHANNEL,
    )
    if monitor.alert_channels is not None:
        if not monitor.alert_channels:
            return []
        query = query.where(AlertChannel.id.in_(monitor.alert_channels))
    rows = await session.execute(query)
    # A channel managed by a feature (an AI cost alert's email list) speaks only for it.
    return sorted(cid for cid, config in rows if not (config or {}).get(MANAGED_BY))


async def enqueue(
    session: AsyncSession,
    event: AlertEvent,
    *,
    org_id: str,
    channel_ids: Sequence[str],
    now: datetime,
) -> int:
    """Queue ``event`` for each channel; returns how many rows were written."""
    payload = event_to_json(event)
    for channel_id in channel_ids:
        session.add(
            AlertOutbox(
                id=new_id("out"),
                event_id=event.id,
                org_id=org_id,
                monitor_id=event.monitor_id or None,
                incident_id=event.incident_id,
                channel_id=channel_id,
                event_type=event.type,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return len(channel_ids)
