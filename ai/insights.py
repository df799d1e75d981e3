"""The insights job: run the rules on each LLM monitor's rollups and recent events.

One row per (monitor, rule, subject): a run updates the row it found before rather
than adding another, and marks rows whose rule no longer fires inactive. A
dismissed insight stays dismissed until its headline figure (``magnitude``)
moves by ``MATERIAL`` or more from the figure it had when dismissed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ai.insight_rules import (
    Finding,
    HourFigures,
    ModelDay,
    hourly_anomalies,
    model_downgrade,
    rag_rules,
    repeated_prompts,
    runaway_sessions,
    uncached_prompts,
)
from ai.rollups import hour_of
from store.ai_models import AiEvent, AiInsight, AiRollup
from store.base import new_id
from store.clock import Clock, SystemClock
from store.db import Store
from store.models import Monitor

MATERIAL = 0.25


def materially_changed(old: float | None, new: float) -> bool:
    if old is None:
        return True
    if old == 0:
        return new != 0
    return abs(new - old) / abs(old) >= MATERIAL


async def _model_days(session: AsyncSession, monitor_id: str, since: datetime) -> list[ModelDay]:
    r = AiRollup
    rows = await session.execute(
        select(
            r.provider,
            r.model,
            func.sum(r.events),
            func.sum(r.short_events),
            func.sum(r.input_tokens),
            func.sum(r.output_tokens),
            func.sum(r.cache_read_tokens),
            func.sum(r.cost_usd),
            func.sum(r.priced),
            func.sum(r.rag_events),
            func.sum(r.rag_relevance_sum),
            func.sum(r.rag_relevance_count),
            func.sum(r.rag_context_tokens_sum),
        )
        .where(r.monitor_id == monitor_id, r.hour >= since)
        .group_by(r.provider, r.model)
    )
    return [
        ModelDay(
            str(p),
            str(m),
            int(e),
            int(s),
            int(i),
            int(o),
            int(c),
            float(cost),
            int(pr),
            int(re),
            float(rs),
            int(rc),
            int(rt),
        )
        for p, m, e, s, i, o, c, cost, pr, re, rs, rc, rt in rows
    ]


async def _hours(
    session: AsyncSession, monitor_id: str, hours: Sequence[datetime]
) -> dict[datetime, HourFigures]:
    r = AiRollup
    rows = await session.execute(
        select(
            r.hour,
            func.sum(r.events),
            func.sum(r.errors),
            func.sum(r.latency_sum_ms),
            func.sum(r.cost_usd),
        )
        .where(r.monitor_id == monitor_id, r.hour.in_(list(hours)))
        .group_by(r.hour)
    )
    return {h: HourFigures(int(e), int(err), int(lat), float(c)) for h, e, err, lat, c in rows}


async def _grouped(
    session: AsyncSession, monitor_id: str, column: Any, since: datetime
) -> dict[str, tuple[int, float]]:
    rows = await session.execute(
        select(column, func.count(), func.coalesce(func.sum(AiEvent.cost_usd), 0.0))
        .where(AiEvent.monitor_id == monitor_id, AiEvent.created_at >= since, column.is_not(None))
        .group_by(column)
    )
    return {str(k): (int(n), float(c)) for k, n, c in rows}


async def findings_for(session: AsyncSession, monitor_id: str, *, now: datetime) -> list[Finding]:
    """Every rule's findings for one monitor as of ``now``."""
    since = now - timedelta(hours=24)
    days = await _model_days(session, monitor_id, hour_of(since))
    out: list[Finding] = []
    out += model_downgrade(days, now=now)
    out += uncached_prompts(days, now=now)
    out += rag_rules(days)
    total_events = sum(d.events for d in days)
    total_cost = sum(d.cost_usd for d in days)
    hashes = await _grouped(session, monitor_id, AiEvent.prompt_hash, since)
    out += repeated_prompts(hashes, total_events, total_cost)
    sessions = await _grouped(session, monitor_id, AiEvent.session_id, since)
    out += runaway_sessions(sessions)
    last = hour_of(now) - timedelta(hours=1)
    wanted = [last - timedelta(days=k) for k in range(8)]
    figures = await _hours(session, monitor_id, wanted)
    baseline = [figures[h] for h in wanted[1:] if h in figures]
    out += hourly_anomalies(figures.get(last), baseline, hour=last)
    return out


async def save_findings(
    session: AsyncSession, monitor_id: str, findings: Sequence[Finding], *, now: datetime
) -> None:
    """Update the monitor's insight rows to match this run's findings."""
    existing = {
        i.rule_key: i
        for i in await session.scalars(select(AiInsight).where(AiInsight.monitor_id == monitor_id))
    }
    seen = set()
    for f in findings:
        seen.add(f.rule_key)
        row = existing.get(f.rule_key)
        if row is None:
            row = AiInsight(
                id=new_id("ins"),
                monitor_id=monitor_id,
                rule_key=f.rule_key,
                dismissed=False,
                created_at=now,
            )
            session.add(row)
        elif row.dismissed and materially_changed(row.dismissed_magnitude, f.magnitude):
            row.dismissed = False
            row.dismissed_magnitude = None
        elif row.is_active is False:
            row.created_at = now  # it had stopped and came back: a new occurrence
        row.type = f.type
        row.severity = f.severity
        row.title = f.title[:300]
        row.description = f.description
        row.savings_usd = f.savings
        row.meta = {"recommendation": f.recommendation, "evidence": f.evidence}
        row.magnitude = f.magnitude
        row.is_active = True
        row.updated_at = now
    for key, row in existing.items():
        if key not in seen and row.is_active:
            row.is_active = False
            row.updated_at = now


async def run_insights(store: Store, *, clock: Clock | None = None) -> int:
    """Run the rules for every active LLM monitor; returns the active findings."""
    now = (clock or SystemClock()).now()
    async with store.transaction() as session:
        ids = list(
            await session.scalars(
                select(Monitor.id).where(Monitor.type == "LLM", Monitor.is_active.is_(True))
            )
        )
    total = 0
    for monitor_id in ids:
        async with store.transaction() as session:
            found = await findings_for(session, monitor_id, now=now)
            await save_findings(session, monitor_id, found, now=now)
            total += len(found)
    return total


async def list_insights(session: AsyncSession, monitor_id: str) -> list[AiInsight]:
    rows = await session.scalars(
        select(AiInsight)
        .where(AiInsight.monitor_id == monitor_id, AiInsight.is_active.is_(True))
        .order_by(AiInsight.created_at.desc(), AiInsight.id)
    )
    return list(rows)


def dismiss(row: AiInsight, *, now: datetime) -> None:
    row.dismissed = True
    row.dismissed_magnitude = row.magnitude
    row.updated_at = now
