"""SLA reports: uptime by time per calendar month (UTC) against a target, error budgets."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from store.uptime import DayUptime, UptimeSummary


def month_start(at: datetime, back: int = 0) -> datetime:
    """The first instant of ``at``'s month (UTC), ``back`` months earlier."""
    index = at.year * 12 + at.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MonthSla:
    """One month. The budget is a share of the *observed* time (maintenance and no
    data are not charged), so a month with no data has no budget and no verdict."""

    month: date
    summary: UptimeSummary
    target: float
    complete: bool

    @property
    def allowed_minutes(self) -> float:
        return self.summary.observed_s / 60 * (100 - self.target) / 100

    @property
    def used_minutes(self) -> float:
        return self.summary.downtime_s / 60

    @property
    def remaining_minutes(self) -> float:
        return self.allowed_minutes - self.used_minutes

    @property
    def met(self) -> bool | None:
        uptime = self.summary.uptime_by_time
        return None if uptime is None else uptime >= self.target


def by_month(days: Sequence[DayUptime], *, target: float, now: datetime) -> list[MonthSla]:
    """Group days by calendar month, oldest first; the month of ``now`` is incomplete."""
    months: dict[date, list[DayUptime]] = {}
    for day in days:
        months.setdefault(day.date.replace(day=1), []).append(day)
    current = month_start(now).date()
    return [
        MonthSla(month=m, summary=UptimeSummary(ds), target=target, complete=m < current)
        for m, ds in months.items()
    ]


def floor2(value: float) -> float:
    """Minutes shown to two decimals, truncated toward zero (a budget is never rounded up)."""
    # Rounded to 6 places first: 100 - 99.9 is 0.0999...; 3.6 must not show as 3.59.
    return math.trunc(round(value * 100, 6)) / 100
