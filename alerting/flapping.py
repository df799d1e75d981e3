"""Flapping: a monitor that changes state too often is announced once, not paged each time.

A state change is an incident opening or resolving. A monitor whose state changed
more than ``flap_threshold`` times within ``flap_window_s`` (defaults below) is
FLAPPING: one ``monitor.flapping`` alert says so, with the count and the window.
While it flaps, incidents still open and resolve as usual (uptime and history stay
exact) but are not paged; an incident whose DOWN alert did go out still gets its
recovery. Once no state change has happened for the window, one ``monitor.stable``
alert says so with the current state, and paging resumes (a monitor stable while
DOWN has its incident marked alerted, so its recovery is paged).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.channels.base import AlertEvent, EventType
from alerting.messages import format_duration
from alerting.outbox import channels_for, enqueue
from store.base import new_id
from store.flap_models import MonitorFlapState
from store.maintenance import in_maintenance
from store.models import Incident, Monitor

DEFAULT_THRESHOLD = 4
DEFAULT_WINDOW_S = 1800
MAX_THRESHOLD = 100
MAX_WINDOW_S = 86_400


def settings(monitor: Monitor) -> tuple[int, int]:
    """(changes allowed within the window, window in seconds) for ``monitor``."""
    threshold = monitor.flap_threshold if monitor.flap_threshold is not None else DEFAULT_THRESHOLD
    window = monitor.flap_window_s if monitor.flap_window_s is not None else DEFAULT_WINDOW_S
    return threshold, window


def recent(changes: list[str], *, now: datetime, window_s: int) -> list[str]:
    """The change times (ISO) still inside the window ending at ``now``."""
    start = now - timedelta(seconds=window_s)
    return [c for c in changes if datetime.fromisoformat(c) > start]


async def note_change(session: AsyncSession, monitor: Monitor, *, now: datetime) -> bool:
    """Record one state change of ``monitor``; True when it should be paged.

    Queues the ``monitor.flapping`` alert on the change that crosses the threshold.
    Runs in the evaluator's transaction, where the monitor's schedule rows are locked.
    """
    threshold, window = settings(monitor)
    state = await session.get(MonitorFlapState, monitor.id, with_for_update=True)
    if state is None:
        state = MonitorFlapState(monitor_id=monitor.id, changes=[])
        session.add(state)
    changes = [*recent(list(state.changes), now=now, window_s=window), now.isoformat()]
    state.changes = changes
    state.last_change_at = now
    if state.flapping_since is not None:
        return False
    if len(changes) <= threshold:
        return True
    state.flapping_since = now
    cause = (
        f"{len(changes)} state changes within {format_duration(window)}: further changes "
        f"are recorded but not paged until it has been stable for {format_duration(window)}"
    )
    details = {"changes": len(changes), "windowS": window, "threshold": threshold}
    await _alert(session, monitor, "monitor.flapping", cause=cause, details=details, now=now)
    return False


async def release_stable(session: AsyncSession, *, now: datetime) -> int:
    """Announce every flapping monitor that has had no state change for its window."""
    rows = await session.execute(
        select(MonitorFlapState, Monitor)
        .join(Monitor, Monitor.id == MonitorFlapState.monitor_id)
        .where(MonitorFlapState.flapping_since.is_not(None))
        .with_for_update(of=MonitorFlapState, skip_locked=True)
    )
    sent = 0
    for state, monitor in rows:
        _, window = settings(monitor)
        last = state.last_change_at or state.flapping_since
        assert last is not None and state.flapping_since is not None
        if now - last < timedelta(seconds=window):
            continue
        incident = await session.scalar(
            select(Incident)
            .where(Incident.monitor_id == monitor.id, Incident.is_active.is_(True))
            .with_for_update()
        )
        current = "DOWN" if incident is not None else "UP"
        if incident is not None and incident.down_alerted_at is None:
            quiet = await in_maintenance(
                session, org_id=monitor.org_id, monitor_id=monitor.id, now=now
            )
            if quiet:
                incident.flapping = False  # maintenance's own release pages it later
            else:
                incident.down_alerted_at = now  # the stable alert says DOWN: pages its recovery
        details = {
            "state": current,
            "stableForS": int((now - last).total_seconds()),
            "windowS": window,
            "flappingSince": state.flapping_since.isoformat(),
        }
        cause = f"No state change for {format_duration(window)}; it is {current} now"
        await _alert(
            session,
            monitor,
            "monitor.stable",
            cause=cause,
            details=details,
            now=now,
            incident=incident,
        )
        state.flapping_since = None
        state.changes = []
        sent += 1
    return sent


async def _alert(
    session: AsyncSession,
    monitor: Monitor,
    event_type: EventType,
    *,
    cause: str,
    details: Mapping[str, object],
    now: datetime,
    incident: Incident | None = None,
) -> None:
    event = AlertEvent(
        id=new_id("evt"),
        type=event_type,
        monitor_id=monitor.id,
        monitor_name=monitor.name,
        monitor_url=monitor.url,
        occurred_at=now,
        incident_id=incident.id if incident is not None else None,
        cause=cause,
        regions=tuple(incident.regions) if incident is not None else (),
        started_at=incident.started_at if incident is not None else None,
        details=details,
    )
    channels = await channels_for(session, monitor)
    await enqueue(session, event, org_id=monitor.org_id, channel_ids=channels, now=now)
