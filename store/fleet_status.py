"""What ``vigil status`` shows: regions with live workers, how far behind they run,
checks waiting, the alert backlog and the monitors currently down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import utc
from store.heartbeats import HEARTBEAT_REGION
from store.models import AlertOutbox, Incident, Monitor, MonitorSchedule, Organization
from store.schedules import SCHEDULED_TYPES
from store.workers_registry import live_workers


@dataclass(frozen=True)
class RegionStatus:
    region: str
    workers: int
    # Checks due now that no worker holds, and how long the oldest has waited
    # (None: not known, as through a remote API).
    pending: int | None
    lateness_s: float | None


@dataclass(frozen=True)
class DownMonitor:
    org_slug: str
    monitor_id: str
    name: str
    since: datetime
    regions: tuple[str, ...]


@dataclass(frozen=True)
class FleetStatus:
    at: datetime
    regions: Sequence[RegionStatus]
    outbox_pending: int | None
    outbox_failed: int | None
    oldest_pending_s: float | None
    down: Sequence[DownMonitor]


async def fleet_status(session: AsyncSession, *, now: datetime) -> FleetStatus:
    """One consistent look at the fleet, for people (``vigil status``)."""
    counts: dict[str, int] = {}
    for w in await live_workers(session, now=now):
        counts[w.region] = counts.get(w.region, 0) + 1
    waiting = await session.execute(
        select(
            MonitorSchedule.region,
            func.count(),
            func.min(MonitorSchedule.next_run_at),
        )
        .join(Monitor, Monitor.id == MonitorSchedule.monitor_id)
        .where(
            MonitorSchedule.region != HEARTBEAT_REGION,
            MonitorSchedule.next_run_at <= now,
            or_(MonitorSchedule.lease_until.is_(None), MonitorSchedule.lease_until < now),
            Monitor.is_active.is_(True),
            Monitor.type.in_(SCHEDULED_TYPES),
        )
        .group_by(MonitorSchedule.region)
    )
    behind = {region: (n, utc(oldest)) for region, n, oldest in waiting}
    regions = [
        RegionStatus(
            region=region,
            workers=counts.get(region, 0),
            pending=behind.get(region, (0, now))[0],
            lateness_s=max(0.0, (now - behind.get(region, (0, now))[1]).total_seconds()),
        )
        for region in sorted(set(counts) | set(behind))
    ]
    outbox = dict(
        (status, (n, oldest))
        for status, n, oldest in await session.execute(
            select(AlertOutbox.status, func.count(), func.min(AlertOutbox.created_at))
            .where(AlertOutbox.status.in_(("pending", "failed")))
            .group_by(AlertOutbox.status)
        )
    )
    pending_n, oldest_pending = outbox.get("pending", (0, None))
    down = [
        DownMonitor(slug, mid, name, utc(started), tuple(regions or ()))
        for slug, mid, name, started, regions in await session.execute(
            select(
                Organization.slug, Monitor.id, Monitor.name, Incident.started_at, Incident.regions
            )
            .join(Monitor, Monitor.id == Incident.monitor_id)
            .join(Organization, Organization.id == Incident.org_id)
            .where(Incident.is_active.is_(True))
            .order_by(Incident.started_at)
        )
    ]
    return FleetStatus(
        at=now,
        regions=regions,
        outbox_pending=pending_n,
        outbox_failed=outbox.get("failed", (0, None))[0],
        oldest_pending_s=(
            (now - utc(oldest_pending)).total_seconds() if oldest_pending is not None else None
        ),
        down=down,
    )


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _count(n: int | None) -> str:
    return "-" if n is None else str(n)


def render(status: FleetStatus) -> str:
    """The status as a plain-text table (pure: tested alone)."""
    lines = [f"Vigil fleet at {status.at.isoformat(timespec='seconds')}", ""]
    lines.append(f"{'REGION':<20} {'WORKERS':>7} {'PENDING':>7} {'LATENESS':>8}")
    for r in status.regions:
        late = _age(r.lateness_s) if r.pending else ("0s" if r.pending == 0 else "-")
        pending = "-" if r.pending is None else str(r.pending)
        flag = "  <- no live worker" if r.workers == 0 else ""
        lines.append(f"{r.region:<20} {r.workers:>7} {pending:>7} {late:>8}{flag}")
    if not status.regions:
        lines.append("(no regions: no worker has registered and nothing is scheduled)")
    lines += [
        "",
        f"Alert outbox: {_count(status.outbox_pending)} pending"
        f" (oldest {_age(status.oldest_pending_s)}), {_count(status.outbox_failed)} failed",
        "",
    ]
    if status.down:
        lines.append(f"Monitors down ({len(status.down)}):")
        lines.append(f"  {'ORG':<16} {'MONITOR':<24} {'NAME':<30} {'DOWN FOR':>8}  REGIONS")
        for d in status.down:
            since = _age((status.at - d.since).total_seconds())
            lines.append(
                f"  {d.org_slug[:16]:<16} {d.monitor_id[:24]:<24} {d.name[:30]:<30} "
                f"{since:>8}  {','.join(d.regions)}"
            )
    else:
        lines.append("Monitors down: none")
    return "\n".join(lines)


__all__ = ["DownMonitor", "FleetStatus", "RegionStatus", "fleet_status", "render"]
