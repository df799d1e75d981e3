"""What a status page shows, gathered once from the store for every format.

The HTML page, the reference's public JSON, the Statuspage v2 JSON, the Atom feed
and the badges all read one ``PageView``, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pages import uptime_source
from pages.uptime_source import day_start
from store.models import Incident, MaintenanceWindow, Monitor, MonitorSchedule
from store.status_page_models import IncidentUpdate, StatusPage, StatusPageNotice
from store.status_pages import Component, components_of
from store.uptime import DayUptime, Events

Status = Literal["operational", "degraded", "partial_outage", "major_outage", "maintenance"]
# Worst first: the overall status is the worst of its parts.
SEVERITY: tuple[Status, ...] = (
    "major_outage",
    "partial_outage",
    "degraded",
    "maintenance",
    "operational",
)
STATUS_TEXT: dict[str, str] = {
    "operational": "Operational",
    "degraded": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "maintenance": "Under maintenance",
}
OVERALL_TEXT: dict[str, str] = {
    "operational": "All systems operational",
    "degraded": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "maintenance": "Maintenance in progress",
}
NOTICE_SEVERITIES = ("info", "minor", "major", "maintenance")
NOTICE_STATUS: dict[str, Status] = {
    "minor": "degraded",
    "major": "partial_outage",
    "maintenance": "maintenance",
}
BAR_DAYS = 90
RESOLVED_SHOWN = timedelta(days=14)
# A day's bar is "major" from this much downtime on, "minor" below it.
MAJOR_DOWNTIME_S = 30 * 60


@dataclass(frozen=True)
class UpdateView:
    id: str
    status: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class IncidentView:
    id: str
    monitor_id: str
    components: tuple[str, ...]
    cause: str | None
    started_at: datetime
    resolved_at: datetime | None
    in_maintenance: bool
    updates: tuple[UpdateView, ...]

    @property
    def status(self) -> str:
        """investigating / identified / monitoring / resolved: the latest word on it."""
        if self.resolved_at is not None:
            return "resolved"
        return self.updates[-1].status if self.updates else "investigating"

    @property
    def title(self) -> str:
        names = ", ".join(self.components)
        return f"{names}: {self.cause}" if self.cause else f"{names} unavailable"


@dataclass(frozen=True)
class MaintenanceView:
    id: str
    title: str
    description: str | None
    starts_at: datetime
    ends_at: datetime
    in_progress: bool
    components: tuple[str, ...]
    created_at: datetime
    # None: org-wide, every component's.
    monitor_id: str | None = None


Level = Literal["nodata", "ok", "minor", "major", "maintenance"]


# Not frozen (a frozen dataclass's __init__ costs 4 times as much): 4,500 per
# rendering of a big page.
@dataclass(slots=True)
class DayBar:
    day: date
    level: Level
    downtime_s: float
    incidents: tuple[IncidentView, ...]
    maintenance: tuple[MaintenanceView, ...]


@dataclass(frozen=True)
class ComponentView:
    id: str
    monitor_id: str
    name: str
    group: str | None
    status: Status
    uptime90d: float | None
    bars: tuple[DayBar, ...]
    response_ms: tuple[float | None, ...]
    created_at: datetime


@dataclass(frozen=True)
class NoticeView:
    id: str
    title: str
    body: str
    severity: str
    created_at: datetime


@dataclass(frozen=True)
class PageView:
    page: StatusPage
    generated_at: datetime
    status: Status
    components: tuple[ComponentView, ...]
    active_incidents: tuple[IncidentView, ...]
    resolved_incidents: tuple[IncidentView, ...]
    maintenance: tuple[MaintenanceView, ...]
    notices: tuple[NoticeView, ...]
    groups: tuple[tuple[str | None, tuple[ComponentView, ...]], ...] = field(default=())

    @property
    def status_text(self) -> str:
        return OVERALL_TEXT[self.status]

    def component(self, component_id: str) -> ComponentView | None:
        return next((c for c in self.components if c.id == component_id), None)


def worst(statuses: Iterable[Status]) -> Status:
    found = set(statuses)
    return next((s for s in SEVERITY if s in found), "operational")


def overall(components: Sequence[Status], notices: Sequence[str]) -> Status:
    """Worst component status; an outage of some (not all) components is partial."""
    parts: list[Status] = list(components)
    if "major_outage" in parts and any(s != "major_outage" for s in parts):
        parts = ["partial_outage" if s == "major_outage" else s for s in parts]
    parts += [NOTICE_STATUS.get(severity, "operational") for severity in notices]
    return worst(parts)


def component_status(
    monitor: Monitor,
    regions: Sequence[str] | None,
    *,
    active: Incident | None,
    last_statuses: Sequence[str | None],
    in_maintenance: bool,
) -> Status:
    """The component's status now, from its open incident, maintenance and last checks."""
    if in_maintenance:
        return "maintenance"
    if active is not None:
        if active.in_maintenance:
            return "maintenance"
        watched = list(regions) if regions else list(monitor.regions)
        failing = [r for r in active.regions if r in watched] if active.regions else watched
        if active.regions and not failing:
            return "operational"
        return "major_outage" if len(failing) >= len(watched) else "partial_outage"
    if any(s == "DEGRADED" for s in last_statuses):
        return "degraded"
    return "operational"


def bar_level(day: DayUptime, maintenance: Sequence[MaintenanceView]) -> Level:
    if day.observed_s <= 0:
        # A day wholly under maintenance has no observed time, but is not "no data".
        return "maintenance" if maintenance or day.maintenance_s > 0 else "nodata"
    if day.downtime_s >= MAJOR_DOWNTIME_S:
        return "major"
    if day.downtime_s > 0:
        return "minor"
    if maintenance or day.maintenance_s > 0:
        return "maintenance"
    return "ok"


def days_covered(start: datetime, end: datetime | None, *, until: datetime) -> list[date]:
    """The UTC days a span (open: until ``until``) touches."""
    last = min(end or until, until)
    first_day, days = start.date(), []
    day = first_day
    while day_start(day) < last or day == first_day:
        days.append(day)
        day += timedelta(days=1)
    return days


def _by_day(
    windows: Sequence[MaintenanceView], *, now: datetime
) -> dict[date, tuple[MaintenanceView, ...]]:
    out: dict[date, list[MaintenanceView]] = {}
    for window in windows:
        for day in days_covered(window.starts_at, window.ends_at, until=max(window.ends_at, now)):
            out.setdefault(day, []).append(window)
    return {day: tuple(found) for day, found in out.items()}


async def load_view(
    session: AsyncSession,
    page: StatusPage,
    *,
    now: datetime,
    only: str | None = None,
    days: bool = True,
) -> PageView:
    """Everything the page shows, as of ``now``; ``only`` one component (for its badges).

    ``days=False`` leaves out the daily figures (bars, uptime, response times) for
    documents that show none: the Statuspage JSON and the feed (most of the time of a
    big page)."""
    components = (await components_of(session, [page.id]))[page.id]
    if only is not None:
        components = [(c, m) for c, m in components if c.id == only]
    monitor_ids = sorted({m.id for _, m in components})
    names: dict[str, list[str]] = {}
    for component, monitor in components:
        names.setdefault(monitor.id, []).append(component.display_name)
    since = day_start(now.date() - timedelta(days=BAR_DAYS - 1))
    incidents = await _incidents(session, monitor_ids, names, since=since, now=now)
    windows = await _maintenance(session, page.org_id, monitor_ids, names, since=since, now=now)
    # The daily figures count the incidents and maintenance just read (not read again).
    events = Events(
        created={m.id: m.created_at for _, m in components},
        incidents=[(i.monitor_id, i.id, i.started_at, i.resolved_at) for i in incidents],
        windows={
            m: [(w.starts_at, w.ends_at) for w in windows if _applies(w, m)] for m in monitor_ids
        },
    )
    days_of = await uptime_source.daily_uptime(
        session, monitor_ids if days else [], days=BAR_DAYS, now=now, events=events
    )
    last = await _last_statuses(session, monitor_ids)
    active_rows = {
        i.monitor_id: i
        for i in await session.scalars(
            select(Incident).where(Incident.monitor_id.in_(monitor_ids), Incident.is_active)
        )
    }
    by_id = {i.id: i for i in incidents}
    views = []
    for component, monitor in components:
        my_windows = [w for w in windows if _applies(w, monitor.id)]
        window_days = _by_day(my_windows, now=now)
        mine = days_of.get(monitor.id, [])
        bars = []
        observed = down = 0.0
        for d in mine:
            observed += d.observed_s
            down += d.downtime_s
            todays = window_days.get(d.date, ())
            # The day's incidents as the read side counted them into its downtime.
            found = (
                tuple(sorted((by_id[i] for i in d.incident_ids if i in by_id), key=_started))
                if d.incident_ids
                else ()
            )
            bars.append(DayBar(d.date, bar_level(d, todays), d.downtime_s, found, todays))
        regions = component.regions
        statuses = [
            s for (m, r), s in last.items() if m == monitor.id and (not regions or r in regions)
        ]
        views.append(
            ComponentView(
                id=component.id,
                monitor_id=monitor.id,
                name=component.display_name,
                group=component.group_name,
                status=component_status(
                    monitor,
                    regions,
                    active=active_rows.get(monitor.id),
                    last_statuses=statuses,
                    in_maintenance=any(w.in_progress for w in my_windows),
                ),
                uptime90d=uptime_source.uptime_pct(observed, down),
                bars=tuple(bars),
                response_ms=tuple(d.mean_total_ms for d in mine),
                created_at=monitor.created_at,
            )
        )
    notices = await _notices(session, page.id)
    return PageView(
        page=page,
        generated_at=now,
        status=overall([c.status for c in views], [n.severity for n in notices]),
        components=tuple(views),
        active_incidents=tuple(i for i in incidents if i.resolved_at is None),
        resolved_incidents=tuple(
            sorted(
                (
                    i
                    for i in incidents
                    if i.resolved_at is not None and i.resolved_at >= now - RESOLVED_SHOWN
                ),
                key=lambda i: i.started_at,
                reverse=True,
            )
        ),
        maintenance=tuple(w for w in windows if w.ends_at > now),
        notices=tuple(notices),
        groups=_grouped(views),
    )


def _applies(window: MaintenanceView, monitor_id: str) -> bool:
    # By monitor, not by component name: two components may share a name.
    return window.monitor_id is None or window.monitor_id == monitor_id


def _started(incident: IncidentView) -> tuple[datetime, str]:
    return incident.started_at, incident.id


def _grouped(
    views: Sequence[ComponentView],
) -> tuple[tuple[str | None, tuple[ComponentView, ...]], ...]:
    """Components by group, groups in the order their first component comes."""
    order: list[str | None] = []
    members: dict[str | None, list[ComponentView]] = {}
    for view in views:
        if view.group not in members:
            order.append(view.group)
            members[view.group] = []
        members[view.group].append(view)
    return tuple((g, tuple(members[g])) for g in order)


async def _incidents(
    session: AsyncSession,
    monitor_ids: Sequence[str],
    names: dict[str, list[str]],
    *,
    since: datetime,
    now: datetime,
) -> list[IncidentView]:
    # Plain columns, not ORM objects: a page of many components reads thousands.
    rows = (
        await session.execute(
            select(
                Incident.id,
                Incident.monitor_id,
                Incident.cause,
                Incident.started_at,
                Incident.resolved_at,
                Incident.in_maintenance,
            )
            .where(
                Incident.monitor_id.in_(monitor_ids),
                Incident.started_at <= now,
                or_(Incident.resolved_at.is_(None), Incident.resolved_at >= since),
            )
            .order_by(Incident.started_at, Incident.id)
        )
    ).all()
    updates: dict[str, list[UpdateView]] = {}
    # Updates are shown for the active incidents and the last 14 days' only.
    shown = [r.id for r in rows if r.resolved_at is None or r.resolved_at >= now - RESOLVED_SHOWN]
    if shown:
        for update in await session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id.in_(shown))
            .order_by(IncidentUpdate.created_at, IncidentUpdate.id)
        ):
            updates.setdefault(update.incident_id, []).append(
                UpdateView(update.id, update.status, update.body, update.created_at)
            )
    components = {m: tuple(n) for m, n in names.items()}
    return [
        IncidentView(
            incident_id,
            monitor_id,
            components.get(monitor_id, ()),
            cause,
            started_at,
            resolved_at,
            bool(in_maintenance),
            tuple(updates.get(incident_id, ())),
        )
        for incident_id, monitor_id, cause, started_at, resolved_at, in_maintenance in rows
    ]


async def _maintenance(
    session: AsyncSession,
    org_id: str,
    monitor_ids: Sequence[str],
    names: dict[str, list[str]],
    *,
    since: datetime,
    now: datetime,
) -> list[MaintenanceView]:
    """Enabled windows of the page's monitors (or org-wide) from ``since`` on, upcoming too."""
    rows = await session.scalars(
        select(MaintenanceWindow)
        .where(
            MaintenanceWindow.org_id == org_id,
            MaintenanceWindow.is_active.is_(True),
            MaintenanceWindow.ends_at > since,
            or_(
                MaintenanceWindow.monitor_id.is_(None),
                MaintenanceWindow.monitor_id.in_(monitor_ids),
            ),
        )
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
    )
    return [
        MaintenanceView(
            id=w.id,
            title=w.title,
            description=w.description,
            starts_at=w.starts_at,
            ends_at=w.ends_at,
            in_progress=w.starts_at <= now < w.ends_at,
            components=tuple(names.get(w.monitor_id, ())) if w.monitor_id else (),
            created_at=w.created_at,
            monitor_id=w.monitor_id,
        )
        for w in rows
    ]


async def _last_statuses(
    session: AsyncSession, monitor_ids: Sequence[str]
) -> dict[tuple[str, str], str | None]:
    rows = await session.execute(
        select(
            MonitorSchedule.monitor_id, MonitorSchedule.region, MonitorSchedule.last_status
        ).where(MonitorSchedule.monitor_id.in_(monitor_ids))
    )
    return {(m, r): s for m, r, s in rows}


async def _notices(session: AsyncSession, page_id: str) -> list[NoticeView]:
    rows = await session.scalars(
        select(StatusPageNotice)
        .where(StatusPageNotice.page_id == page_id, StatusPageNotice.resolved_at.is_(None))
        .order_by(StatusPageNotice.created_at.desc(), StatusPageNotice.id)
    )
    return [NoticeView(n.id, n.title, n.body, n.severity, n.created_at) for n in rows]


__all__ = ["Component", "PageView", "load_view"]
