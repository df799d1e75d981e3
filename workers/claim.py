"""Claim due schedule rows of one region, hand them back, and the slot arithmetic.

A claim takes the rows due before a short horizon, leases them to one worker and
moves each row's ``next_run_at`` to its next slot in the same transaction, so no
(monitor, region, slot) is handed out twice. On PostgreSQL the candidate rows are
locked ``FOR UPDATE SKIP LOCKED``: any number of workers of a region share the
work without other coordination.

A lease holds for the run's timeout plus a margin; no other worker takes the row
while it holds. The slot a lease is for stays recorded (``leased_slot_at``) until
its result is written, so when a worker dies its leases lapse with their slots
still recorded, and the next claim of the region (a peer's, or the restarted
process's) runs each such slot at once, late, instead of waiting for the next
one. That re-run also covers results the dead worker had measured but not written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from checks.base import MonitorSpec
from store.base import UTCDateTime
from store.clock import utc
from store.models import Monitor, MonitorSchedule, Organization
from store.results import SCHEDULES
from store.schedules import SCHEDULED_TYPES

# Time a run may take past its own timeout before its lease lapses: result batching
# (<= 1 s), a slow database, a busy event loop.
LEASE_MARGIN_S = 5.0
# Browser checks wait for a browser slot first and take a failure screenshot last;
# the runner allows them this long past their timeout, and their lease covers it.
BROWSER_MARGIN_S = 12.0


@dataclass(frozen=True)
class ClaimedRun:
    """One slot of one (monitor, region) that this worker now holds."""

    monitor: MonitorSpec
    region: str
    due_at: datetime
    lease_until: datetime


def next_slot(due_at: datetime, interval_s: int, *, now: datetime) -> datetime:
    """The first slot after ``now`` on the grid ``due_at + k * interval`` (k >= 1).

    Slots stay anchored to the first run, so runs do not drift; slots missed while
    no worker ran are skipped rather than run in a burst.
    """
    step = timedelta(seconds=interval_s)
    following = due_at + step
    if following > now:
        return following
    missed = math.floor((now - due_at) / step)
    return due_at + step * (missed + 1)


def slot_to_run(
    next_run_at: datetime,
    lapsed_slot: datetime | None,
    interval_s: int,
    *,
    now: datetime,
    horizon: datetime,
) -> tuple[datetime, datetime]:
    """The slot a claim runs and the row's next slot after it.

    The row's own next slot when it is due (it covers any lapsed one); otherwise
    the slot of a lapsed lease, run late, leaving the next slot where it is.
    """
    if next_run_at <= horizon or lapsed_slot is None:
        return next_run_at, next_slot(next_run_at, interval_s, now=now)
    return lapsed_slot, next_run_at


def lease_for(due_at: datetime, timeout_s: float, *, now: datetime) -> datetime:
    """Until when a claim holds the row: its start, its timeout, and a margin."""
    return max(due_at, now) + timedelta(seconds=timeout_s + LEASE_MARGIN_S)


_SPEC_COLUMNS = (
    Monitor.id,
    Monitor.name,
    Monitor.type,
    Monitor.url,
    Monitor.method,
    Monitor.timeout_s,
    Monitor.interval_s,
    Monitor.expected_status,
    Monitor.expected_keyword,
    Monitor.config,
    Monitor.org_id,
    Organization.trusted,
    Monitor.metrics_labels,
)


async def claim_due(
    session: AsyncSession,
    region: str,
    *,
    worker_id: str,
    now: datetime,
    horizon: datetime,
    limit: int,
    skip_locked: bool,
) -> list[ClaimedRun]:
    """Lease up to ``limit`` rows of ``region`` due by ``horizon``; earliest first.

    Runs inside the caller's transaction; the leases hold once it commits.
    ``skip_locked`` must be True on PostgreSQL (it is what lets workers share a region).
    """
    # Plain columns, not ORM objects: this runs hundreds of times a second.
    query = (
        select(MonitorSchedule.next_run_at, MonitorSchedule.leased_slot_at, *_SPEC_COLUMNS)
        .join(Monitor, Monitor.id == MonitorSchedule.monitor_id)
        .join(Organization, Organization.id == Monitor.org_id)
        .where(
            MonitorSchedule.region == region,
            or_(
                MonitorSchedule.next_run_at <= horizon,
                # A slot that never got its result: with the lease lapsed (below),
                # its holder died. (This worker's own lapsed runs are still in hand.)
                and_(
                    MonitorSchedule.leased_slot_at.is_not(None),
                    MonitorSchedule.lease_until.is_not(None),
                    MonitorSchedule.leased_by != worker_id,
                ),
            ),
            # A worker may claim the next slot of a row it holds: its previous run
            # need not be written first.
            or_(
                MonitorSchedule.lease_until.is_(None),
                MonitorSchedule.lease_until < now,
                MonitorSchedule.leased_by == worker_id,
            ),
            Monitor.is_active.is_(True),
            Monitor.type.in_(SCHEDULED_TYPES),
        )
        .order_by(MonitorSchedule.next_run_at)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=MonitorSchedule)
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    claimed: list[ClaimedRun] = []
    params: list[dict[str, object]] = []
    for next_run_at, lapsed_slot, mid, name, mtype, url, method, timeout_s, *rest in rows:
        interval_s, expected_status, expected_keyword, config, org_id, trusted, labelled = rest
        spec = MonitorSpec(
            id=mid,
            name=name,
            type=mtype,
            url=url,
            region=region,
            method=method,
            timeout_s=float(timeout_s),
            interval_s=interval_s,
            expected_status=expected_status,
            expected_keyword=expected_keyword,
            config=config or {},
            org_id=org_id,
            trusted=bool(trusted),
            metrics_labels=bool(labelled),
        )
        due_at, following = slot_to_run(
            utc(next_run_at),
            utc(lapsed_slot) if lapsed_slot is not None else None,
            interval_s,
            now=now,
            horizon=horizon,
        )
        # A browser check may run past its timeout by the runner's browser margin.
        margin = BROWSER_MARGIN_S if mtype == "BROWSER" else 0.0
        lease_until = lease_for(due_at, timeout_s + margin, now=now)
        claimed.append(ClaimedRun(spec, region, due_at, lease_until))
        params.append(
            {
                "m": mid,
                "r": region,
                "lease": lease_until,
                "by": worker_id,
                "next": following,
            }
        )
    table = SCHEDULES
    await session.execute(
        update(table)
        .where(
            and_(
                table.c.monitor_id == bindparam("m"),
                table.c.region == bindparam("r"),
            )
        )
        .values(
            lease_until=bindparam("lease", type_=UTCDateTime),
            leased_by=bindparam("by"),
            next_run_at=bindparam("next", type_=UTCDateTime),
            leased_slot_at=bindparam("slot", type_=UTCDateTime),
        ),
        [{**p, "slot": run.due_at} for p, run in zip(params, claimed, strict=True)],
    )
    return claimed


async def release(session: AsyncSession, runs: Sequence[ClaimedRun], *, worker_id: str) -> None:
    """Give back runs that were claimed but not finished: the slot runs elsewhere.

    Only rows still leased by ``worker_id`` are touched; their ``next_run_at``
    goes back to the earliest released slot so another worker of the region runs it.
    """
    if not runs:
        return
    # executemany applies rows in order: the earliest slot of a monitor comes last.
    runs = sorted(runs, key=lambda r: r.due_at, reverse=True)
    table = SCHEDULES
    await session.execute(
        update(table)
        .where(
            and_(
                table.c.monitor_id == bindparam("m"),
                table.c.region == bindparam("r"),
                table.c.leased_by == bindparam("by"),
            )
        )
        .values(
            lease_until=None,
            leased_by=None,
            leased_slot_at=None,
            next_run_at=bindparam("due", type_=UTCDateTime),
        ),
        [{"m": r.monitor.id, "r": r.region, "by": worker_id, "due": r.due_at} for r in runs],
    )
