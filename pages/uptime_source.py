"""Where status pages get uptime from: daily figures per monitor, from the rollups.

Every uptime figure a page, badge or feed shows comes through this one module. The
figures are the read side's (``store.uptime``): by time, maintenance taken out and
time with no data (no check ran that hour, or before the monitor existed) never
counted as down; so the 90 daily bars and badges keep their history after raw
results are dropped by retention. Daily mean response times come from the daily
rollups' sums of total time, read with the uptime.

Uptime is ``(observed - downtime) / observed``, rounded down, never up to 100 %.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from store import uptime as read_side
from store.uptime import DayUptime


def uptime_pct(observed_s: float, downtime_s: float) -> float | None:
    """Percent of observed time up, rounded down to 2 decimals; None without observed time."""
    if observed_s <= 0:
        return None
    share = max(0.0, observed_s - downtime_s) / observed_s
    return math.floor(share * 10000 + 1e-9) / 100


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


async def daily_uptime(
    session: AsyncSession,
    monitor_ids: Sequence[str],
    *,
    days: int,
    now: datetime,
    events: read_side.Events | None = None,
) -> dict[str, list[DayUptime]]:
    """The last ``days`` UTC days (today last) of each monitor; an unknown id gets
    days without data. ``events``: the incidents and maintenance the page has read
    (``store.uptime.Events``), not read again.

    The read side's own day objects, not copies: a big page reads 4,500 of them."""
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    out: dict[str, list[DayUptime]] = {}
    if not monitor_ids:
        return out
    found = await read_side.daily_uptime(session, monitor_ids, days=days, now=now, events=events)
    for monitor_id in monitor_ids:
        mine = found.get(monitor_id)
        out[monitor_id] = mine if mine is not None else _no_data(first, days)
    return out


def _no_data(first: date, days: int) -> list[DayUptime]:
    return [
        DayUptime(first + timedelta(days=k), 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, ())
        for k in range(days)
    ]


async def uptime_since(
    session: AsyncSession, monitor_ids: Sequence[str], *, since: datetime, now: datetime
) -> dict[str, float | None]:
    """Uptime percent of each monitor from ``since`` to ``now`` (for badges: 24 h ...)."""
    if not monitor_ids:
        return {}
    found = await read_side.uptime_days(session, monitor_ids, since=since, until=now, to_now=True)
    out: dict[str, float | None] = {}
    for monitor_id in monitor_ids:
        days = found.get(monitor_id, [])
        observed = sum(d.observed_s for d in days)
        out[monitor_id] = uptime_pct(observed, sum(d.downtime_s for d in days))
    return out
