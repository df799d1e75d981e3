"""Incident evaluation: runs after every batch of results, in the batch's transaction.

Per (monitor, region), the schedule row holds the failure and success streaks. A
region is failing once it has ``failure_threshold`` consecutive failures, and while
an incident is open a region that saw it stays failing until it has
``recovery_threshold`` consecutive successes. The monitor is DOWN while at least
``region_quorum`` regions are failing. Opening or resolving an incident writes its
alerts to the outbox in the same transaction. On PostgreSQL the result writer has
locked every schedule row of the batch's monitors, so workers of several regions
evaluate one monitor one after another; the partial unique index on active
incidents is the backstop.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.channels.base import AlertEvent, EventType
from alerting.confirmation import agreeing, asks_confirmation, request_recheck
from alerting.flapping import note_change
from alerting.outbox import channels_for, enqueue
from alerting.redact import mask_url
from alerting.ssl_expiry import check_expiry, takes_part
from store.base import new_id
from store.clock import Clock, SystemClock
from store.maintenance import in_maintenance
from store.models import CheckResult, Incident, Monitor, MonitorSchedule, monitor_num
from store.results import RecordedResult, is_failure, is_suspect_failure

log = logging.getLogger(__name__)

# The largest failure or recovery threshold a monitor may have (the API enforces it).
MAX_THRESHOLD = 10


def may_change_state(item: RecordedResult) -> bool:
    """Whether this result can open, resolve or alter anything.

    A success in a region that has succeeded more times in a row than any recovery
    threshold changes nothing, unless the check reports certificate expiry. This
    keeps the steady state (almost every result) from loading any monitor.
    """
    if is_suspect_failure(item):
        return False  # from a worker whose canary failed: it opens nothing
    if is_failure(item.result.status) or item.consecutive_successes <= MAX_THRESHOLD:
        return True
    spec = item.monitor
    return spec.type == "SSL" or (
        spec.type == "HTTP" and spec.config.get("sslExpiryAlerts") is True
    )


def retry_interval_s(monitor: Monitor) -> int:
    """Seconds to the next run after a failure: the setting, else a third of the interval."""
    if monitor.retry_interval_s is not None:
        return min(monitor.retry_interval_s, monitor.interval_s)
    return min(monitor.interval_s, max(10, monitor.interval_s // 3))


@dataclass(frozen=True)
class RegionState:
    region: str
    failures: int
    successes: int


def failing_regions(
    monitor: Monitor, states: Sequence[RegionState], incident: Incident | None
) -> list[str]:
    """Regions that count as failing for ``monitor`` now (pure; see module docstring)."""
    seen = set(incident.regions) if incident is not None else set()
    out = []
    for s in states:
        confirmed = s.failures >= monitor.failure_threshold
        not_recovered = s.region in seen and s.successes < monitor.recovery_threshold
        if confirmed or not_recovered:
            out.append(s.region)
    return sorted(out)


def down_event_type(monitor: Monitor) -> EventType:
    return "heartbeat.missed" if monitor.type == "HEARTBEAT" else "monitor.down"


def incident_event(
    monitor: Monitor, incident: Incident, event_type: EventType, *, now: datetime
) -> AlertEvent:
    """The alert for an incident's state change; a resolved one carries its duration."""
    duration = None
    if incident.resolved_at is not None:
        duration = int((incident.resolved_at - incident.started_at).total_seconds())
    return AlertEvent(
        id=new_id("evt"),
        type=event_type,
        monitor_id=monitor.id,
        monitor_name=monitor.name,
        monitor_url=mask_url(monitor.url),
        occurred_at=now,
        incident_id=incident.id,
        cause=incident.cause,
        regions=tuple(incident.regions),
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        duration_s=duration,
    )


def down_event(monitor: Monitor, incident: Incident, *, now: datetime) -> AlertEvent:
    return incident_event(monitor, incident, down_event_type(monitor), now=now)


async def close_incident(
    session: AsyncSession, monitor: Monitor, *, now: datetime, reason: str
) -> Incident | None:
    """Close the monitor's open incident because it stops being checked (paused, deleted).

    Nothing would ever resolve it otherwise: reminders would go on and a PagerDuty
    page would stay open. Those told of the outage get the closing alert, with the
    reason in its details.
    """
    incident = await session.scalar(
        select(Incident)
        .where(Incident.monitor_id == monitor.id, Incident.is_active.is_(True))
        .with_for_update()
    )
    if incident is None:
        return None
    incident.is_active = False
    incident.resolved_at = now
    await session.flush()
    if incident.down_alerted_at is not None:
        event = replace(
            incident_event(monitor, incident, "monitor.up", now=now),
            details={"closedBecause": reason},
        )
        channels = await channels_for(session, monitor)
        await enqueue(session, event, org_id=monitor.org_id, channel_ids=channels, now=now)
    return incident


class Evaluator:
    """The ``on_batch`` hook of the result writer."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()

    async def __call__(self, session: AsyncSession, items: Sequence[RecordedResult]) -> None:
        by_monitor: dict[str, list[RecordedResult]] = defaultdict(list)
        for item in items:
            if may_change_state(item):
                by_monitor[item.monitor.id].append(item)
        if not by_monitor:
            return
        ids = sorted(by_monitor)
        monitors = {
            m.id: m for m in await session.scalars(select(Monitor).where(Monitor.id.in_(ids)))
        }
        states: dict[str, list[RegionState]] = defaultdict(list)
        # Columns, not ORM objects: the writer updated the streaks with Core
        # statements, and objects already in this session would show stale values.
        rows = await session.execute(
            select(
                MonitorSchedule.monitor_id,
                MonitorSchedule.region,
                MonitorSchedule.consecutive_failures,
                MonitorSchedule.consecutive_successes,
            ).where(MonitorSchedule.monitor_id.in_(ids))
        )
        for monitor_id, region, failures, successes in rows:
            states[monitor_id].append(RegionState(region, failures, successes))
        # Locked: housekeeping may be marking one alerted (maintenance over) right now.
        active = {
            i.monitor_id: i
            for i in await session.scalars(
                select(Incident)
                .where(Incident.monitor_id.in_(ids), Incident.is_active.is_(True))
                .with_for_update()
            )
        }
        for monitor_id in ids:
            monitor = monitors.get(monitor_id)
            if monitor is None:
                continue
            batch = by_monitor[monitor_id]
            self._plan_retries(monitor, batch, states[monitor_id])
            if takes_part(monitor):
                await check_expiry(session, monitor, batch, now=self.clock.now())
            await self._evaluate(
                session, monitor, batch, states[monitor_id], active.get(monitor_id)
            )

    def _plan_retries(
        self, monitor: Monitor, batch: Sequence[RecordedResult], states: Sequence[RegionState]
    ) -> None:
        """While a region's failure is not yet confirmed, check it again sooner."""
        if monitor.type == "HEARTBEAT":
            return  # pings come when the job runs; there is nothing to check sooner
        failures = {s.region: s.failures for s in states}
        for item in batch:
            if not is_failure(item.result.status):
                continue
            if failures.get(item.region, 0) < monitor.failure_threshold:
                retry_at = item.checked_at + timedelta(seconds=retry_interval_s(monitor))
                item.next_run_at = retry_at

    async def _evaluate(
        self,
        session: AsyncSession,
        monitor: Monitor,
        batch: Sequence[RecordedResult],
        states: Sequence[RegionState],
        incident: Incident | None,
    ) -> None:
        failing = failing_regions(monitor, states, incident)
        down = len(failing) >= monitor.region_quorum
        now = self.clock.now()
        streaks = {s.region: s.failures for s in states}
        if incident is None and down and asks_confirmation(monitor):
            backing = agreeing(failing, streaks)
            if not backing:
                # Only a new failure asks again: the other regions' UP answers must not.
                if any(is_failure(i.result.status) and i.region in failing for i in batch):
                    await request_recheck(session, monitor, failing, now=now)
                return
            failing = sorted({*failing, *backing})
        if incident is None and down:
            await self._open(session, monitor, batch, {r: streaks[r] for r in failing}, now=now)
        elif incident is not None and not down:
            await self._resolve(session, monitor, batch, incident, now=now)
        elif incident is not None and set(failing) - set(incident.regions):
            incident.regions = sorted(set(incident.regions) | set(failing))

    async def _open(
        self,
        session: AsyncSession,
        monitor: Monitor,
        batch: Sequence[RecordedResult],
        failing: dict[str, int],
        *,
        now: datetime,
    ) -> None:
        """``failing`` maps each failing region to the length of its failure streak."""
        failed = [i for i in batch if is_failure(i.result.status)]
        cause = failed[-1].result.error if failed else None
        starts = [await self._streak_start(session, monitor, r, n) for r, n in failing.items()]
        started = min(starts or [now])
        quiet = await in_maintenance(session, org_id=monitor.org_id, monitor_id=monitor.id, now=now)
        page = await note_change(session, monitor, now=now)
        incident = Incident(
            id=new_id("inc"),
            org_id=monitor.org_id,
            monitor_id=monitor.id,
            started_at=started,
            cause=cause or "Check failed",
            regions=sorted(failing),
            is_active=True,
            in_maintenance=quiet,
            flapping=not page,
            down_alerted_at=None if quiet or not page else now,
        )
        session.add(incident)
        await session.flush()
        log.info(
            "incident %s opened for monitor %s: %s",
            incident.id,
            monitor.id,
            incident.cause,
            extra={"incidentId": incident.id, "monitorId": monitor.id},
        )
        if incident.down_alerted_at is not None:
            event = down_event(monitor, incident, now=now)
            channels = await channels_for(session, monitor)
            await enqueue(session, event, org_id=monitor.org_id, channel_ids=channels, now=now)

    async def _resolve(
        self,
        session: AsyncSession,
        monitor: Monitor,
        batch: Sequence[RecordedResult],
        incident: Incident,
        *,
        now: datetime,
    ) -> None:
        recovered = [i for i in batch if not is_failure(i.result.status)]
        incident.resolved_at = recovered[-1].checked_at if recovered else now
        incident.is_active = False
        await session.flush()
        log.info(
            "incident %s of monitor %s resolved",
            incident.id,
            monitor.id,
            extra={"incidentId": incident.id, "monitorId": monitor.id},
        )
        await note_change(session, monitor, now=now)
        # Only those who were told it is down hear that it is up again (flapping or not).
        if incident.down_alerted_at is not None:
            event = incident_event(monitor, incident, "monitor.up", now=now)
            channels = await channels_for(session, monitor)
            await enqueue(session, event, org_id=monitor.org_id, channel_ids=channels, now=now)

    async def _streak_start(
        self, session: AsyncSession, monitor: Monitor, region: str, failures: int
    ) -> datetime:
        """When the region's current run of ``failures`` failures began."""
        first: datetime | None = await session.scalar(
            select(CheckResult.checked_at)
            .where(CheckResult.monitor_num == monitor_num(monitor.id), CheckResult.region == region)
            .order_by(CheckResult.checked_at.desc(), CheckResult.id.desc())
            .offset(max(0, failures - 1))
            .limit(1)
        )
        return first or self.clock.now()
