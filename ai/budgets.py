"""Cost alerts: an LLM monitor's daily and monthly budgets, warned at 80 % and alerted at 100 %.

Spend is read from the hourly rollups (priced events only). Each budget alerts at
most once per period and level: the 80 % warning, then the 100 % alert (which
also stands for the warning if the spend jumped past both). The alert is an
``ai.budget_exceeded`` event in the outbox, written in the transaction that
records ``last_*_alert``, for the cost alert's own email list (an EMAIL channel
managed by the cost alert) and the monitor's alert channels; a dispatcher crash
loses nothing, and the event id is the same for a period and level, so a second
housekeeper cannot queue it twice.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.channels.base import AlertEvent
from alerting.outbox import MANAGED_BY, channels_for, enqueue
from store.ai_models import AiCostAlert, AiRollup
from store.base import new_id
from store.clock import Clock, SystemClock
from store.db import Store
from store.models import AlertChannel, Monitor

log = logging.getLogger(__name__)
WARNING_RATIO = 0.8
MANAGED = "ai_cost_alert"


@dataclass(frozen=True)
class Period:
    name: str  # "daily" | "monthly"
    start: datetime
    end: datetime

    def elapsed(self, now: datetime) -> float:
        return (now - self.start) / (self.end - self.start)


def day_period(now: datetime) -> Period:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return Period("daily", start, start + timedelta(days=1))


def month_period(now: datetime) -> Period:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = calendar.monthrange(now.year, now.month)[1]
    return Period("monthly", start, start + timedelta(days=days))


def level_reached(spent: float, budget: float) -> int | None:
    """100 at or past the budget, 80 at or past 80 % of it, else None."""
    if spent >= budget:
        return 100
    if spent >= WARNING_RATIO * budget:
        return 80
    return None


def projection(spent: float, period: Period, now: datetime) -> float:
    """The spend at the end of the period if it goes on at the pace so far."""
    elapsed = period.elapsed(now)
    return spent / elapsed if elapsed > 0 else spent


def describe(level: int, period: Period, *, spent: float, budget: float, now: datetime) -> str:
    """The alert's cause: spend, budget and the projection, in one sentence."""
    end = "the day" if period.name == "daily" else "the month"
    pct = 100 * spent / budget if budget else 0
    pace = projection(spent, period, now)
    return (
        f"{period.name.capitalize()} AI spend is ${spent:,.2f}, {pct:.0f} % of the "
        f"${budget:,.2f} budget; on pace to reach ${pace:,.2f} by the end of {end}"
    )


async def spend_since(session: AsyncSession, monitor_id: str, since: datetime) -> float:
    total = await session.scalar(
        select(func.coalesce(func.sum(AiRollup.cost_usd), 0.0)).where(
            AiRollup.monitor_id == monitor_id, AiRollup.hour >= since
        )
    )
    return float(total or 0.0)


def parse_emails(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


async def sync_channel(
    session: AsyncSession, alert: AiCostAlert, monitor: Monitor, *, now: datetime
) -> None:
    """Create or update the EMAIL channel that carries mail to ``alert_emails``."""
    config: dict[str, Any] = {"recipients": parse_emails(alert.alert_emails), MANAGED_BY: MANAGED}
    channel = await session.get(AlertChannel, alert.channel_id) if alert.channel_id else None
    if channel is None:
        channel = AlertChannel(
            id=new_id("ac"),
            org_id=monitor.org_id,
            name=f"AI cost alert: {monitor.name}"[:100],
            type="EMAIL",
            config=config,
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        session.add(channel)
        # No ORM relationship orders the two inserts: write the channel first.
        await session.flush()
        alert.channel_id = channel.id
    else:
        channel.config = config
        channel.updated_at = now


def _event(
    alert: AiCostAlert,
    monitor: Monitor,
    period: Period,
    level: int,
    *,
    spent: float,
    budget: float,
    now: datetime,
) -> AlertEvent:
    key = period.start.strftime("%Y%m%d")
    return AlertEvent(
        # One id per alert, period and level: queued twice, it is rejected by the outbox.
        id="evt_"
        + hashlib.sha256(f"{alert.id}|{period.name}|{key}|{level}".encode()).hexdigest()[:24],
        type="ai.budget_exceeded",
        monitor_id=monitor.id,
        monitor_name=monitor.name,
        monitor_url="",
        occurred_at=now,
        cause=describe(level, period, spent=spent, budget=budget, now=now),
        details={
            "level": level,
            "period": period.name,
            "budgetUsd": budget,
            "spentUsd": round(spent, 6),
            "projectedUsd": round(projection(spent, period, now), 6),
        },
    )


async def check_alert(
    session: AsyncSession, alert: AiCostAlert, monitor: Monitor, *, now: datetime
) -> int:
    """Queue what this cost alert owes now; returns how many events were queued."""
    queued = 0
    for period, budget, alert_attr, warn_attr in (
        (day_period(now), alert.daily_budget_usd, "last_daily_alert", "last_daily_warning"),
        (month_period(now), alert.monthly_budget_usd, "last_monthly_alert", "last_monthly_warning"),
    ):
        if budget is None:
            continue
        spent = await spend_since(session, monitor.id, period.start)
        level = level_reached(spent, budget)
        if level is None:
            continue
        last_alert: datetime | None = getattr(alert, alert_attr)
        last_warning: datetime | None = getattr(alert, warn_attr)
        if last_alert is not None and last_alert >= period.start:
            continue  # the 100 % alert went out this period: nothing more to say
        if level == 80 and last_warning is not None and last_warning >= period.start:
            continue
        setattr(alert, warn_attr, now)
        if level == 100:
            setattr(alert, alert_attr, now)
        channels = list(await channels_for(session, monitor))
        if alert.channel_id:
            channels.append(alert.channel_id)
        event = _event(alert, monitor, period, level, spent=spent, budget=budget, now=now)
        await enqueue(
            session, event, org_id=monitor.org_id, channel_ids=sorted(set(channels)), now=now
        )
        log.info("AI budget %s %d %% for monitor %s", period.name, level, monitor.id)
        queued += 1
    return queued


async def check_budgets(store: Store, *, clock: Clock | None = None) -> int:
    """Check every cost alert of an active LLM monitor; returns the events queued."""
    now = (clock or SystemClock()).now()
    async with store.transaction() as session:
        query = (
            select(AiCostAlert, Monitor)
            .join(Monitor, Monitor.id == AiCostAlert.monitor_id)
            .where(Monitor.type == "LLM", Monitor.is_active.is_(True))
            .order_by(AiCostAlert.id)
        )
        if store.is_postgres:
            query = query.with_for_update(of=AiCostAlert, skip_locked=True)
        queued = 0
        for alert, monitor in (await session.execute(query)).all():
            queued += await check_alert(session, alert, monitor, now=now)
        return queued
