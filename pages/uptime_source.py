"""Where status pages get uptime from: daily figures per monitor.

Every uptime figure a page, badge or feed shows comes through this one module, so
moving it to the read-side rollups is a change here only. For now it computes from
the raw rows: checks and response times from ``check_results``, downtime from
``incidents`` (time while an incident was open; an incident opened during
maintenance counts as maintenance, not downtime).

Uptime is by time, ``(observed - downtime) / observed``, where observed time starts
when the monitor was created and ends now; it is rounded down, never up to 100 %.

The swap to the rollups (issue 11's ``store.uptime.uptime_days(session, ids, since=,
until=)``): ``daily_uptime`` maps each of its days to ``DayUptime`` here (``day`` =
``date``, ``failed`` = ``down``, ``observed_s`` from its property, ``maintenance_s``
as is, ``avg_response_ms`` from the daily rollup's response time), ``uptime_pct``
becomes its ``percent``, and ``uptime_since`` sums its days (``UptimeSummary``).
Nothing outside this module changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, Integer, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import CheckResult, Incident, Monitor

DAY = timedelta(days=1)


@dataclass(frozen=True)
class DayUptime:
    """One UTC day of one monitor."""

    day: date
    checks: int
    failed: int
    downtime_s: float
    maintenance_s: float
    # Seconds of the day the monitor existed, up to now (0: no data for the day).
    observed_s: float
    avg_response_ms: float | None

    @property
    def uptime_pct(self) -> float | None:
        return uptime_pct(self.observed_s, self.downtime_s)


def uptime_pct(observed_s: float, downtime_s: float) -> float | None:
    """Percent of observed time up, rounded down to 2 decimals; None without observed time."""
    if observed_s <= 0:
        return None
    share = max(0.0, observed_s - downtime_s) / observed_s
    return math.floor(share * 10000 + 1e-9) / 100


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _overlap_s(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds())


async def daily_uptime(
    session: AsyncSession, monitor_ids: Sequence[str], *, days: int, now: datetime
) -> dict[str, list[DayUptime]]:
    """The last ``days`` UTC days (today last) of each monitor."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = day_start(first)
    out: dict[str, list[DayUptime]] = {}
    if not monitor_ids:
        return out
    created = await _created(session, monitor_ids)
    checks = await _daily_checks(session, monitor_ids, since=since, now=now)
    down = await _daily_incident_time(session, monitor_ids, since=since, now=now)
    bounds = [
        (day, day_start(day), min(day_start(day) + DAY, now))
        for day in (first + timedelta(days=offset) for offset in range(days))
    ]
    for monitor_id in monitor_ids:
        born = created.get(monitor_id, now)
        rows = []
        for day, lo, hi in bounds:
            count, failed, avg = checks.get((monitor_id, day), (0, 0, None))
            downtime, maintenance = down.get((monitor_id, day), (0.0, 0.0))
            rows.append(
                DayUptime(
                    day=day,
                    checks=count,
                    failed=failed,
                    downtime_s=downtime,
                    maintenance_s=maintenance,
                    observed_s=_overlap_s(born, now, lo, hi),
                    avg_response_ms=avg,
                )
            )
        out[monitor_id] = rows
    return out


async def uptime_since(
    session: AsyncSession, monitor_ids: Sequence[str], *, since: datetime, now: datetime
) -> dict[str, float | None]:
    """Uptime percent of each monitor from ``since`` to ``now`` (for badges: 24 h ...)."""
    if not monitor_ids:
        return {}
    created = await _created(session, monitor_ids)
    downtime = {m: 0.0 for m in monitor_ids}
    for incident in await _incidents(session, monitor_ids, since=since, now=now):
        if not incident.in_maintenance:
            end = incident.resolved_at or now
            downtime[incident.monitor_id] += _overlap_s(incident.started_at, end, since, now)
    return {
        m: uptime_pct(_overlap_s(created.get(m, now), now, since, now), downtime[m])
        for m in monitor_ids
    }


async def _created(session: AsyncSession, monitor_ids: Sequence[str]) -> dict[str, datetime]:
    rows = await session.execute(
        select(Monitor.id, Monitor.created_at).where(Monitor.id.in_(monitor_ids))
    )
    return {monitor_id: created for monitor_id, created in rows}


async def _daily_checks(
    session: AsyncSession, monitor_ids: Sequence[str], *, since: datetime, now: datetime
) -> dict[tuple[str, date], tuple[int, int, float | None]]:
    dialect = session.get_bind().dialect.name
    day = (
        cast(func.timezone("UTC", CheckResult.checked_at), Date)
        if dialect == "postgresql"
        else func.date(CheckResult.checked_at)
    )
    failed = func.sum(cast(CheckResult.status == "DOWN", Integer))
    rows = await session.execute(
        select(
            CheckResult.monitor_id,
            day,
            func.count(),
            failed,
            func.avg(CheckResult.response_time_ms),
        )
        .where(
            CheckResult.monitor_id.in_(monitor_ids),
            CheckResult.checked_at >= since,
            CheckResult.checked_at <= now,
        )
        .group_by(CheckResult.monitor_id, day)
    )
    out: dict[tuple[str, date], tuple[int, int, float | None]] = {}
    for monitor_id, when, count, down, avg in rows:
        key_day = when if isinstance(when, date) else date.fromisoformat(str(when))
        out[(monitor_id, key_day)] = (int(count), int(down or 0), float(avg) if avg else None)
    return out


@dataclass(frozen=True)
class _Span:
    monitor_id: str
    started_at: datetime
    resolved_at: datetime | None
    in_maintenance: bool


async def _incidents(
    session: AsyncSession, monitor_ids: Sequence[str], *, since: datetime, now: datetime
) -> list[_Span]:
    # Plain columns, not ORM objects: a page of many components reads thousands.
    rows = await session.execute(
        select(
            Incident.monitor_id, Incident.started_at, Incident.resolved_at, Incident.in_maintenance
        ).where(
            Incident.monitor_id.in_(monitor_ids),
            Incident.started_at <= now,
            or_(Incident.resolved_at.is_(None), Incident.resolved_at >= since),
        )
    )
    return [_Span(m, s, r, bool(h)) for m, s, r, h in rows]


async def _daily_incident_time(
    session: AsyncSession, monitor_ids: Sequence[str], *, since: datetime, now: datetime
) -> dict[tuple[str, date], tuple[float, float]]:
    """(downtime, maintenance) seconds per (monitor, day)."""
    out: dict[tuple[str, date], tuple[float, float]] = {}
    for incident in await _incidents(session, monitor_ids, since=since, now=now):
        start = max(incident.started_at, since)
        end = min(incident.resolved_at or now, now)
        day = start.date()
        while day_start(day) < end:
            seconds = _overlap_s(start, end, day_start(day), day_start(day) + DAY)
            down, held = out.get((incident.monitor_id, day), (0.0, 0.0))
            if incident.in_maintenance:
                held += seconds
            else:
                down += seconds
            out[(incident.monitor_id, day)] = (down, held)
            day += timedelta(days=1)
    return out
