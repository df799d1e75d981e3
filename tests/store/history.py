"""Hand-made check histories, written through the real result writer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from checks.base import CheckResult, MonitorSpec, Timings
from store.base import new_id
from store.db import Store
from store.models import Incident, MaintenanceWindow, Monitor
from store.results import RecordedResult, record_results

StatusAt = Callable[[datetime], str]


async def nums_of(session: AsyncSession, *monitor_ids: str) -> dict[str, int]:
    """Each monitor's ``num`` (the key its raw results carry), by id."""
    found = await session.execute(
        select(Monitor.id, Monitor.num).where(Monitor.id.in_(monitor_ids))
    )
    return {monitor_id: num for monitor_id, num in found}


def item(
    monitor_id: str,
    status: str,
    *,
    at: datetime,
    region: str = "local",
    total: float = 42.0,
    lateness_ms: float = 0.0,
    timings: Timings | None = None,
) -> RecordedResult:
    """One result as a worker would hand it to the writer (``timings`` default to
    fixed phases adding up to ``total``)."""
    if timings is None:
        timings = Timings(dns=1.0, tcp=2.0, tls=3.0, ttfb=total - 10, download=4.0, total=total)
    result = CheckResult(
        status=status,  # type: ignore[arg-type]
        response_time_ms=round(timings.total or 0),
        status_code=200 if status != "DOWN" else 503,
        timings=timings,
        size_bytes=100,
        error=None if status != "DOWN" else "Expected status 200, got 503",
        details={"resolvedIp": "127.0.0.1"},
        checked_at=at,
    )
    spec = MonitorSpec(id=monitor_id, name="site", type="HTTP", url="http://127.0.0.1:9/")
    return RecordedResult(
        monitor=spec,
        region=region,
        result=result,
        due_at=at - timedelta(milliseconds=lateness_ms),
        started_at=at,
    )


async def write_history(
    store: Store,
    monitor_id: str,
    *,
    start: datetime,
    end: datetime,
    every: timedelta,
    status_at: StatusAt = lambda _: "UP",
    region: str = "local",
) -> int:
    """Results every ``every`` in [start, end), in batches; returns how many."""
    at, batch, written = start, [], 0
    while at < end:
        batch.append(item(monitor_id, status_at(at), at=at, region=region))
        at += every
        if len(batch) == 500 or at >= end:
            async with store.transaction() as session:
                written += len(await record_results(session, batch))
            batch = []
    return written


async def add_incident(
    store: Store, monitor_id: str, *, start: datetime, end: datetime | None
) -> str:
    async with store.transaction() as session:
        monitor = await session.get_one(Monitor, monitor_id)
        incident = Incident(
            id=new_id("inc"),
            org_id=monitor.org_id,
            monitor_id=monitor_id,
            started_at=start,
            resolved_at=end,
            cause="Expected status 200, got 503",
            regions=["local"],
            is_active=end is None,
            in_maintenance=False,
        )
        session.add(incident)
    return incident.id


async def add_window(
    store: Store, monitor_id: str | None, org_id: str, *, start: datetime, end: datetime
) -> None:
    async with store.transaction() as session:
        session.add(
            MaintenanceWindow(
                id=new_id("mw"),
                org_id=org_id,
                monitor_id=monitor_id,
                title="Upgrade",
                starts_at=start,
                ends_at=end,
                is_active=True,
                created_at=start,
            )
        )
