"""Building organizations, monitors, channels and results straight in the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from alerting.evaluator import Evaluator
from checks.base import CheckResult, MonitorSpec
from store.base import new_id
from store.clock import FrozenClock
from store.db import Store
from store.models import AlertChannel, AlertOutbox, Incident, Monitor
from store.monitors import create_monitor
from store.orgs import create_org
from store.results import RecordedResult, record_results


async def make_org(store: Store, clock: FrozenClock, slug: str = "acme") -> str:
    async with store.transaction() as session:
        org, _ = await create_org(
            session,
            name=slug,
            slug=slug,
            plan="ENTERPRISE",
            owner_email=f"o@{slug}.t",
            now=clock.now(),
            trusted=True,
        )
    return org.id


async def make_monitor(store: Store, clock: FrozenClock, org_id: str, **values: Any) -> Monitor:
    columns: dict[str, Any] = {
        "name": "Production API",
        "url": "http://127.0.0.1:9/health",
        "type": "HTTP",
        "interval_s": 30,
        "method": "GET",
        "timeout_s": 5,
        "regions": ["us-east-1"],
        "config": {},
        "is_active": True,
        "failure_threshold": 2,
        "recovery_threshold": 1,
        "region_quorum": 1,
    }
    columns.update(values)
    async with store.transaction() as session:
        return await create_monitor(session, org_id, columns, now=clock.now())


async def make_channel(
    store: Store,
    clock: FrozenClock,
    org_id: str,
    *,
    type: str = "WEBHOOK",
    config: dict[str, Any] | None = None,
) -> str:
    async with store.transaction() as session:
        channel = AlertChannel(
            id=new_id("ac"),
            org_id=org_id,
            name=f"{type.title()} channel",
            type=type,
            config=config or {"url": "http://127.0.0.1:9/hook", "secret": "s3cret"},
            is_active=True,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(channel)
    return channel.id


def spec(monitor: Monitor, region: str) -> MonitorSpec:
    return MonitorSpec(
        id=monitor.id,
        name=monitor.name,
        type=monitor.type,
        url=monitor.url,
        region=region,
        org_id=monitor.org_id,
        interval_s=monitor.interval_s,
        trusted=True,
    )


async def record(
    store: Store,
    clock: FrozenClock,
    monitor: Monitor,
    status: str,
    *,
    region: str = "us-east-1",
    error: str | None = None,
    at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> RecordedResult:
    """Write one result through the real writer with the real evaluator."""
    when = at or clock.now()
    item = RecordedResult(
        monitor=spec(monitor, region),
        region=region,
        result=CheckResult(
            status=status,  # type: ignore[arg-type]
            error=error if status != "UP" else None,
            checked_at=when,
            response_time_ms=12,
            details=details or {},
        ),
        due_at=when,
        started_at=when,
    )
    async with store.transaction() as session:
        await record_results(session, [item], on_batch=Evaluator(clock))
    return item


async def incidents(store: Store, monitor_id: str) -> list[Incident]:
    async with store.transaction() as session:
        rows = await session.scalars(
            select(Incident).where(Incident.monitor_id == monitor_id).order_by(Incident.started_at)
        )
        return list(rows)


async def outbox(store: Store, monitor_id: str | None = None) -> list[AlertOutbox]:
    async with store.transaction() as session:
        query = select(AlertOutbox).order_by(AlertOutbox.created_at, AlertOutbox.event_type)
        if monitor_id:
            query = query.where(AlertOutbox.monitor_id == monitor_id)
        return list(await session.scalars(query))


async def count_active(store: Store, monitor_id: str) -> int:
    async with store.transaction() as session:
        n = await session.scalar(
            select(func.count()).where(
                Incident.monitor_id == monitor_id, Incident.is_active.is_(True)
            )
        )
    return int(n or 0)
