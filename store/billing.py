"""Changing an organization's plan, and what its existing monitors exceed afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Monitor, Organization
from store.plans import limits_for


@dataclass(frozen=True)
class OverLimit:
    """Existing monitors a plan would not allow today. They are kept, and reported."""

    monitor_count: int
    monitor_limit: int | None
    interval_below_minimum: Sequence[str]  # monitor ids
    browser_not_allowed: Sequence[str]  # monitor ids

    @property
    def monitors_over_limit(self) -> int:
        if self.monitor_limit is None:
            return 0
        return max(0, self.monitor_count - self.monitor_limit)

    def json(self) -> dict[str, Any]:
        return {
            "monitorsOverLimit": self.monitors_over_limit,
            "intervalBelowMinimum": list(self.interval_below_minimum),
            "browserNotAllowed": list(self.browser_not_allowed),
        }

    def lines(self) -> list[str]:
        """The report for a person (the CLI)."""
        out = []
        if self.monitors_over_limit:
            out.append(
                f"{self.monitor_count} monitors, {self.monitors_over_limit} over the plan's "
                f"limit of {self.monitor_limit}: they keep running; new ones are refused"
            )
        if self.interval_below_minimum:
            out.append(
                "interval below the plan's minimum (kept until edited): "
                + ", ".join(self.interval_below_minimum)
            )
        if self.browser_not_allowed:
            out.append(
                "BROWSER monitors the plan does not allow (kept until edited): "
                + ", ".join(self.browser_not_allowed)
            )
        return out


async def over_limit(session: AsyncSession, org_id: str, plan: str) -> OverLimit:
    limits = limits_for(plan)
    rows = (
        await session.execute(
            select(Monitor.id, Monitor.interval_s, Monitor.type)
            .where(Monitor.org_id == org_id)
            .order_by(Monitor.created_at, Monitor.id)
        )
    ).all()
    return OverLimit(
        monitor_count=len(rows),
        monitor_limit=limits.monitor_limit,
        interval_below_minimum=[i for i, s, _t in rows if s < limits.min_interval_s],
        browser_not_allowed=[
            i for i, _s, t in rows if t == "BROWSER" and not limits.browser_allowed
        ],
    )


async def change_plan(
    session: AsyncSession, org: Organization, plan: str, *, now: datetime
) -> OverLimit:
    """Put ``org`` on ``plan``. Its limits hold from the next request on, because every
    request reads the plan afresh (rate limit, monitor count, minimum interval, browser
    gate); existing monitors that exceed them are kept and returned."""
    org.plan = plan
    org.updated_at = now
    await session.flush()
    return await over_limit(session, org.id, plan)
