"""The ``workers`` table: who is running where, for ``GET /api/regions`` and status.

A worker registers on start, refreshes ``last_seen_at`` every ``HEARTBEAT_EVERY_S``
and deletes its row on a clean exit. A worker that died leaves a row that stops
being refreshed: it is no longer listed after ``STALE_AFTER_S`` (so a death shows
within 15 s), and any worker prunes such rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import utc
from store.models import Worker

HEARTBEAT_EVERY_S = 3.0
# Three beats and a margin for a slow commit.
STALE_AFTER_S = 12.0


@dataclass(frozen=True)
class RegionLiveness:
    region: str
    worker_count: int
    last_seen_at: datetime
    healthy_count: int = 0


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    region: str
    host: str
    pid: int
    version: str
    started_at: datetime
    last_seen_at: datetime
    healthy: bool = True
    canary_error: str | None = None
    unhealthy_since: datetime | None = None


async def register_worker(
    session: AsyncSession,
    worker_id: str,
    *,
    region: str,
    host: str,
    pid: int,
    version: str,
    now: datetime,
) -> None:
    """Add this worker's row (replacing a leftover row with the same id)."""
    await session.execute(delete(Worker).where(Worker.id == worker_id))
    session.add(
        Worker(
            id=worker_id,
            region=region,
            host=host[:255],
            pid=pid,
            version=version[:32],
            started_at=now,
            last_seen_at=now,
        )
    )
    await session.flush()


async def touch_worker(session: AsyncSession, worker_id: str, *, now: datetime) -> bool:
    """Refresh ``last_seen_at``; False if the row was pruned (the caller re-registers)."""
    done = await session.execute(
        update(Worker).where(Worker.id == worker_id).values(last_seen_at=now)
    )
    return bool(getattr(done, "rowcount", 0))


async def unregister_worker(session: AsyncSession, worker_id: str) -> None:
    await session.execute(delete(Worker).where(Worker.id == worker_id))


async def prune_stale_workers(session: AsyncSession, *, now: datetime) -> int:
    """Delete rows not refreshed for ``STALE_AFTER_S``; returns how many."""
    done = await session.execute(delete(Worker).where(Worker.last_seen_at < _cutoff(now)))
    return int(getattr(done, "rowcount", 0))


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=STALE_AFTER_S)


async def live_regions(session: AsyncSession, *, now: datetime) -> list[RegionLiveness]:
    """Regions with at least one live worker: how many, and when one was last seen."""
    healthy = func.sum(case((Worker.healthy.is_(True), 1), else_=0))
    rows = await session.execute(
        select(Worker.region, func.count(), func.max(Worker.last_seen_at), healthy)
        .where(Worker.last_seen_at >= _cutoff(now))
        .group_by(Worker.region)
        .order_by(Worker.region)
    )
    # func.max bypasses the column type on SQLite, so parse what comes back.
    return [
        RegionLiveness(region, int(count), _as_datetime(seen), int(well or 0))
        for region, count, seen, well in rows
    ]


async def live_workers(session: AsyncSession, *, now: datetime) -> list[WorkerInfo]:
    """Workers seen within ``STALE_AFTER_S``, by region then start time."""
    rows = await session.scalars(
        select(Worker)
        .where(Worker.last_seen_at >= _cutoff(now))
        .order_by(Worker.region, Worker.started_at)
    )
    return [
        WorkerInfo(
            w.id,
            w.region,
            w.host,
            w.pid,
            w.version,
            w.started_at,
            w.last_seen_at,
            w.healthy,
            w.canary_error,
            w.unhealthy_since,
        )
        for w in rows
    ]


async def set_worker_health(
    session: AsyncSession, worker_id: str, *, error: str | None, now: datetime
) -> bool:
    """Store the worker's canary outcome (``error`` None: healthy).

    True exactly once per sickness: when it is unhealthy and no alert went out yet,
    which this call then records as sent (the caller queues it in this transaction).
    """
    row = await session.get(Worker, worker_id, with_for_update=True)
    if row is None:
        return False
    if error is None:
        row.healthy, row.canary_error = True, None
        row.unhealthy_since = row.unhealthy_alerted_at = None
        return False
    row.healthy, row.canary_error = False, error
    row.unhealthy_since = row.unhealthy_since or now
    if row.unhealthy_alerted_at is not None:
        return False
    row.unhealthy_alerted_at = now
    return True


async def has_healthy_peer(
    session: AsyncSession, worker_id: str, *, region: str, now: datetime
) -> bool:
    """Whether another live, healthy worker serves ``region`` (it can take the claims)."""
    found = await session.scalar(
        select(func.count()).where(
            Worker.region == region,
            Worker.id != worker_id,
            Worker.healthy.is_(True),
            Worker.last_seen_at >= _cutoff(now),
        )
    )
    return bool(found)


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return utc(value)
    return utc(datetime.fromisoformat(str(value)))
