"""Uptime of many monitors at once, by checks and by time, per UTC day, from the rollups.

Two figures, both labelled wherever they are shown:

- **by checks**: (UP + DEGRADED) / all checks, summed over regions. DEGRADED counts
  as up and is also reported on its own.
- **by time**: the share of *observed* time not inside an incident. Of a day's time,
  maintenance (an enabled window, org-wide or the monitor's) is taken out first and
  reported as ``maintenance_s``; then time with no data: hours (UTC) in which no
  check of any region ran, and time before the monitor existed, reported as
  ``no_data_s``, never as down; what remains is observed, and the incidents'
  overlap with it (open ones run to ``until``) is ``downtime_s``.

Percentages are truncated to three decimals, never rounded up: one failed check in
a year reads 99.999, not 100.000. A figure is None when there is nothing to divide by.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Table, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import utc
from store.models import Incident, Monitor
from store.rollups import DAILY, HOURLY, day_of, epoch_s, hour_of, maintenance_spans

DayStatus = Literal["UP", "DEGRADED", "DOWN", "MAINTENANCE", "NO_DATA"]
Span = tuple[float, float]
DAY_S = 86400
HOUR_S = 3600


def percent(part: float, whole: float) -> float | None:
    """``100 * part / whole`` truncated to 3 decimals, below 100 whenever part < whole."""
    if whole <= 0:
        return None
    value = math.floor(part * 100_000 / whole) / 1000
    if part < whole:
        value = min(value, 99.999)
    return value


@dataclass(slots=True)
class DayUptime:
    """One UTC day of one monitor (the first and last days may be partial); read-only.

    ``worst_status``: DOWN if any downtime, else DEGRADED if any DEGRADED check, else
    UP if any time was observed, else MAINTENANCE if a window covered it, else NO_DATA.
    """

    date: date
    span_s: float
    downtime_s: float
    maintenance_s: float
    no_data_s: float
    checks: int
    up: int
    degraded: int
    down: int
    maintenance_checks: int
    incident_ids: tuple[str, ...]
    # Sum and count of total time of the checks that were not DOWN (mean response time).
    total_sum_ms: float = 0.0
    total_count: int = 0

    @property
    def observed_s(self) -> float:
        return self.span_s - self.maintenance_s - self.no_data_s

    @property
    def uptime_by_time(self) -> float | None:
        return percent(self.observed_s - self.downtime_s, self.observed_s)

    @property
    def uptime_by_checks(self) -> float | None:
        return percent(self.up + self.degraded, self.checks)

    @property
    def incidents(self) -> int:
        return len(self.incident_ids)

    @property
    def mean_total_ms(self) -> float | None:
        return self.total_sum_ms / self.total_count if self.total_count else None

    @property
    def worst_status(self) -> DayStatus:
        if self.downtime_s > 0:
            return "DOWN"
        if self.degraded:
            return "DEGRADED"
        if self.observed_s > 0:
            return "UP"
        if self.maintenance_s > 0:
            return "MAINTENANCE"
        return "NO_DATA"


@dataclass(frozen=True)
class UptimeSummary:
    """A run of days added up; ``incidents`` counts each incident once."""

    days: Sequence[DayUptime] = field(default_factory=list)

    def _sum(self, name: str) -> float:
        return float(sum(getattr(d, name) for d in self.days))

    @property
    def checks(self) -> int:
        return int(self._sum("checks"))

    @property
    def degraded(self) -> int:
        return int(self._sum("degraded"))

    @property
    def down(self) -> int:
        return int(self._sum("down"))

    @property
    def observed_s(self) -> float:
        return self._sum("observed_s")

    @property
    def downtime_s(self) -> float:
        return self._sum("downtime_s")

    @property
    def maintenance_s(self) -> float:
        return self._sum("maintenance_s")

    @property
    def no_data_s(self) -> float:
        return self._sum("no_data_s")

    @property
    def uptime_by_checks(self) -> float | None:
        return percent(self._sum("up") + self.degraded, self.checks)

    @property
    def uptime_by_time(self) -> float | None:
        return percent(self.observed_s - self.downtime_s, self.observed_s)

    @property
    def degraded_percent(self) -> float | None:
        return (
            percent(self.degraded, self.checks) if self.degraded else (0.0 if self.checks else None)
        )

    @property
    def incidents(self) -> int:
        return len({i for d in self.days for i in d.incident_ids})


def _union(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _minus(spans: list[Span], cut: list[Span]) -> list[Span]:
    """``spans`` without ``cut``; both unions (sorted, disjoint)."""
    out: list[Span] = []
    for a, b in spans:
        start = a
        for c, d in cut:
            if d <= start or c >= b:
                continue
            if c > start:
                out.append((start, c))
            start = max(start, d)
        if start < b:
            out.append((start, b))
    return out


def _clip(spans: Iterable[Span], a: float, b: float) -> list[Span]:
    return _union((max(x, a), min(y, b)) for x, y in spans if y > a and x < b)


def _length(spans: Iterable[Span]) -> float:
    return sum(b - a for a, b in spans)


# A rollup row as read: monitor, bucket (seconds), then checks, up, degraded, down,
# maintenance checks, hours mask, sum and count of total time (ms, checks not DOWN).
_CHECKS, _UP, _DEGRADED, _DOWN, _MNT, _MASK, _TOTAL_SUM, _TOTAL_COUNT = range(2, 10)
_ADDED = (_CHECKS, _UP, _DEGRADED, _DOWN, _MNT, _TOTAL_SUM, _TOTAL_COUNT)


def _no_data(day_start: float, a: float, b: float, mask: int) -> list[Span]:
    """The hours of [a, b) (inside one day) in which no check ran."""
    if mask == 0xFFFFFF:
        return []
    spans = []
    for h in range(24):
        if not mask >> h & 1:
            spans.append((day_start + h * HOUR_S, day_start + (h + 1) * HOUR_S))
    return _clip(spans, a, b)


def rollup_ranges(
    since: datetime, until: datetime, *, to_now: bool = False
) -> list[tuple[Table, datetime, datetime]]:
    """Which rollup rows cover [since, until): daily rows for whole UTC days, hourly
    rows for the partial first and last days (from ``since``'s hour).

    ``to_now``: ``until`` is the present, so no check is newer and the last day's
    daily row holds that day so far (one row per monitor instead of one per hour)."""
    whole: list[datetime] = []
    partial: list[tuple[datetime, datetime]] = []
    day = day_of(since)
    while day < until:
        lo, hi = max(day, since), min(day + timedelta(days=1), until)
        if lo == day and (hi == day + timedelta(days=1) or to_now):
            whole.append(day)
        else:
            partial.append((hour_of(lo), hi))
        day += timedelta(days=1)
    ranges = [(DAILY, whole[0], whole[-1] + timedelta(days=1))] if whole else []
    return ranges + [(HOURLY, lo, hi) for lo, hi in partial]


async def checks_since(
    session: AsyncSession, org_id: str, *, since: datetime, now: datetime
) -> tuple[int, int]:
    """(UP + DEGRADED, all checks) of the organization's monitors from ``since``'s hour
    to ``now``, in one query of few rows.

    Daily rows from ``since``'s day through today (today's row holds today so far: no
    check is newer than now); of ``since``'s day, the part before ``since``'s hour is
    taken off with its hourly rows, or, when that part is the larger one, the day is
    left out and its hourly rows from ``since``'s hour are added: at most 12 hourly
    rows per monitor, whatever the hour.
    """
    first = day_of(since)
    cut = hour_of(since)
    d, h = DAILY.c, HOURLY.c
    if cut - first <= timedelta(hours=12):
        days_from, sign, hours = first, -1, (first, cut)
    else:
        days_from, sign, hours = first + timedelta(days=1), 1, (cut, first + timedelta(days=1))
    rows = union_all(
        select(d.monitor_id, literal(1).label("sign"), d.up, d.degraded, d.checks).where(
            d.bucket_at >= days_from, d.bucket_at <= now
        ),
        select(h.monitor_id, literal(sign), h.up, h.degraded, h.checks).where(
            h.bucket_at >= hours[0], h.bucket_at < hours[1]
        ),
    ).subquery()
    found = (
        await session.execute(
            select(
                func.sum(rows.c.sign * (rows.c.up + rows.c.degraded)),
                func.sum(rows.c.sign * rows.c.checks),
            )
            .join(Monitor, Monitor.id == rows.c.monitor_id)
            .where(Monitor.org_id == org_id)
        )
    ).one()
    return int(found[0] or 0), int(found[1] or 0)


async def _day_counts(
    session: AsyncSession,
    ids: Sequence[str],
    *,
    since: datetime,
    until: datetime,
    d_first: int,
    to_now: bool = False,
) -> dict[str, dict[int, Sequence[Any]]]:
    """Rollup counters per monitor and day (index from ``d_first``), every region added.

    The bucket comes back as whole seconds, not a timestamp: converting thousands of
    timestamps to UTC datetimes cost more than the query (a status page reads 50
    monitors x 90 days).
    """
    dialect = session.get_bind().dialect.name
    out: dict[str, dict[int, Sequence[Any]]] = {}
    for table, lo, hi in rollup_ranges(since, until, to_now=to_now):
        c = table.c
        rows = await session.execute(
            select(
                c.monitor_id,
                epoch_s(c.bucket_at, dialect),
                c.checks,
                c.up,
                c.degraded,
                c.down,
                c.maintenance,
                c.hours_mask,
                c.total_sum,
                c.total_count,
            ).where(c.monitor_id.in_(ids), c.bucket_at >= lo, c.bucket_at < hi)
        )
        days: dict[int, Sequence[Any]] = {}
        last = None
        for row in rows.all():
            if row[0] != last:
                last = row[0]
                days = out.setdefault(last, {})
            k = (row[1] - d_first) // DAY_S
            day = days.get(k)
            if day is None:
                days[k] = row
            else:  # another region, or another hour of a partial day
                added = list(day)
                for i in _ADDED:
                    added[i] += row[i]
                added[_MASK] |= row[_MASK]
                days[k] = added
    return out


_NONE: tuple[Any, ...] = (None, None, 0, 0, 0, 0, 0, 0, 0.0, 0)


@dataclass(frozen=True)
class Events:
    """What cuts into the days of some monitors, for a caller that has read it for
    itself already (a status page lists the incidents and maintenance its bars
    count): ``uptime_days`` then takes it instead of reading it again. Wider spans
    than asked for are fine: each is clipped as if read for the asked span.

    ``created``: each monitor's creation time (a monitor left out does not exist);
    ``incidents``: (monitor id, incident id, start, end or None while open);
    ``windows``: each monitor's enabled maintenance windows, org-wide ones included.
    """

    created: Mapping[str, datetime]
    incidents: Sequence[tuple[str, str, datetime, datetime | None]]
    windows: Mapping[str, Sequence[tuple[datetime, datetime]]]


async def read_events(
    session: AsyncSession, monitor_ids: Sequence[str], *, since: datetime, until: datetime
) -> Events:
    """The monitors' creation times, and the incidents and maintenance over [since, until)."""
    found = await session.execute(
        select(Monitor.id, Monitor.created_at).where(Monitor.id.in_(monitor_ids))
    )
    created = {monitor_id: at for monitor_id, at in found}
    incidents = await session.execute(
        select(Incident.monitor_id, Incident.id, Incident.started_at, Incident.resolved_at).where(
            Incident.monitor_id.in_(monitor_ids),
            Incident.started_at < until,
            or_(Incident.resolved_at.is_(None), Incident.resolved_at > since),
        )
    )
    return Events(
        created,
        [
            (monitor_id, incident_id, start, end)
            for monitor_id, incident_id, start, end in incidents
        ],
        await maintenance_spans(session, monitor_ids, since=since, until=until),
    )


async def uptime_days(
    session: AsyncSession,
    monitor_ids: Sequence[str],
    *,
    since: datetime,
    until: datetime,
    events: Events | None = None,
    to_now: bool = False,
) -> dict[str, list[DayUptime]]:
    """Each monitor's UTC days from ``since``'s day to ``until``, clipped to [since, until).

    Monitors that do not exist are left out. A few queries whatever the number of
    monitors and days (three fewer with ``events``): a status page asks for 50
    monitors x 90 days in one call. ``to_now``: ``until`` is the present (see
    ``rollup_ranges``).
    """
    since, until = utc(since), utc(until)
    ids = sorted(set(monitor_ids))
    if events is None:
        events = await read_events(session, ids, since=since, until=until)
    created = {m: events.created[m] for m in ids if m in events.created}
    if not created or until <= since:
        return {}
    first_day, last_day = day_of(since), day_of(until - timedelta(microseconds=1))
    d_first = int(first_day.timestamp())
    counts = await _day_counts(
        session, ids, since=since, until=until, d_first=d_first, to_now=to_now
    )

    incidents: dict[str, list[tuple[str, float, float]]] = {}
    end = until.timestamp()
    for monitor_id, incident_id, started, resolved in events.incidents:
        started, resolved = utc(started), (None if resolved is None else utc(resolved))
        if started >= until or (resolved is not None and resolved <= since):
            continue
        stop = end if resolved is None else min(resolved.timestamp(), end)
        incidents.setdefault(monitor_id, []).append((incident_id, started.timestamp(), stop))
    windows = {
        m: [(x, y) for x, y in ((utc(a), utc(b)) for a, b in spans) if x <= until and y > since]
        for m, spans in events.windows.items()
    }

    s0 = since.timestamp()
    n_days = (last_day - first_day).days + 1
    dates = [(first_day + timedelta(days=k)).date() for k in range(n_days)]
    # Each day's [a, b): whole days but (perhaps) the first and the last.
    bounds = [
        (max(d_first + k * DAY_S, s0), min(d_first + (k + 1) * DAY_S, end)) for k in range(n_days)
    ]
    # A day with nothing but checks (or gaps in them) to account for: its no-data time
    # from the hours mask alone (most days of most monitors).
    whole = [b - a == DAY_S for a, b in bounds]
    out: dict[str, list[DayUptime]] = {}
    for monitor_id, created_at in created.items():
        born = utc(created_at).timestamp()
        mnt = _union((a.timestamp(), b.timestamp()) for a, b in windows.get(monitor_id, ()))
        mnt_days = _by_day(((x, y, "") for x, y in mnt), d_first, n_days)
        down_days = _by_day(
            ((x, y, i) for i, x, y in incidents.get(monitor_id, ())), d_first, n_days
        )
        special = mnt_days.keys() | down_days.keys()
        if born > s0:
            special |= {k for k in range(n_days) if born > bounds[k][0]}
        mine = counts.get(monitor_id, {})
        days = []
        for k in range(n_days):
            n = mine.get(k, _NONE)
            if k in special:
                days.append(
                    _day_with_events(
                        dates[k],
                        bounds[k],
                        d_first + k * DAY_S,
                        n,
                        born,
                        mnt_days.get(k, ()),
                        down_days.get(k, ()),
                    )
                )
                continue
            a, b = bounds[k]
            if whole[k]:
                gap_s = float((24 - n[_MASK].bit_count()) * HOUR_S)
            else:
                gap_s = _length(_no_data(d_first + k * DAY_S, a, b, n[_MASK]))
            # Positional, in the fields' order: 4,500 of these for a status page.
            days.append(
                DayUptime(
                    dates[k],
                    b - a,
                    0.0,
                    0.0,
                    gap_s,
                    n[_CHECKS],
                    n[_UP],
                    n[_DEGRADED],
                    n[_DOWN],
                    n[_MNT],
                    (),
                    float(n[_TOTAL_SUM]),
                    n[_TOTAL_COUNT],
                )
            )
        out[monitor_id] = days
    return out


def _day_with_events(
    day: date,
    bounds: tuple[float, float],
    d0: float,
    n: Sequence[Any],
    born: float,
    windows: Sequence[tuple[float, float, str]],
    incidents: Iterable[tuple[float, float, str]],
) -> DayUptime:
    """A day that maintenance, an incident or the monitor's creation cut into."""
    a, b = bounds
    todays = list(incidents)
    if not windows and born <= a and n[_MASK] == 0xFFFFFF:
        # Checks every hour and incidents only (a status page's usual special day):
        # the incidents' time in the day is all the downtime.
        return DayUptime(
            day,
            b - a,
            _length(_clip(((x, y) for x, y, _ in todays), a, b)),
            0.0,
            0.0,
            n[_CHECKS],
            n[_UP],
            n[_DEGRADED],
            n[_DOWN],
            n[_MNT],
            tuple(sorted({i for _, _, i in todays})),
            float(n[_TOTAL_SUM]),
            n[_TOTAL_COUNT],
        )
    m = _clip(((x, y) for x, y, _ in windows), a, b)
    before = [(a, min(born, b))] if born > a else []
    gap = _minus(_union(_no_data(d0, a, b, n[_MASK]) + before), m)
    lost = _minus(_minus(_clip(((x, y) for x, y, _ in todays), a, b), m), gap)
    return DayUptime(
        date=day,
        span_s=b - a,
        downtime_s=_length(lost),
        maintenance_s=_length(m),
        no_data_s=_length(gap),
        checks=n[_CHECKS],
        up=n[_UP],
        degraded=n[_DEGRADED],
        down=n[_DOWN],
        maintenance_checks=n[_MNT],
        incident_ids=tuple(sorted({i for _, _, i in todays})),
        total_sum_ms=float(n[_TOTAL_SUM]),
        total_count=n[_TOTAL_COUNT],
    )


def _by_day(
    spans: Iterable[tuple[float, float, str]], d_first: float, n_days: int
) -> dict[int, list[tuple[float, float, str]]]:
    """Spans filed under each day (index from ``d_first``) they overlap."""
    out: dict[int, list[tuple[float, float, str]]] = {}
    for x, y, tag in spans:
        if y <= x:
            continue
        lo = max(0, math.floor((x - d_first) / DAY_S))
        hi = min(n_days - 1, math.ceil((y - d_first) / DAY_S) - 1)
        for k in range(lo, hi + 1):
            out.setdefault(k, []).append((x, y, tag))
    return out


async def daily_uptime(
    session: AsyncSession,
    monitor_ids: Sequence[str],
    *,
    days: int,
    now: datetime,
    events: Events | None = None,
) -> dict[str, list[DayUptime]]:
    """The last ``days`` UTC days (today, partial, last) of each monitor, oldest first.

    For status pages: ``daily_uptime(session, ids, days=90, now=clock.now())``.
    Monitors that do not exist are left out.
    """
    start = day_of(now) - timedelta(days=days - 1)
    return await uptime_days(
        session, monitor_ids, since=start, until=now, events=events, to_now=True
    )
