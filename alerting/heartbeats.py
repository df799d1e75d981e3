"""Heartbeat pings and missed deadlines, written as check results and evaluated.

A ping is a result: success (or exit status 0) is UP, ``/fail`` or a non-zero exit
status is DOWN at once; ``/start`` only notes the start so the next success gets
the run's duration. A deadline that passes without a ping is a DOWN result written
by the sweep. Results go through the same writer and incident evaluator as
scheduled checks; a success that changes nothing takes a short path (one INSERT,
one UPDATE) so pings stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.evaluator import Evaluator
from checks.base import CheckResult, MonitorSpec
from checks.heartbeat_config import deadline, grace_s
from store.clock import Clock
from store.db import Store
from store.heartbeats import HEARTBEAT_REGION
from store.models import CheckResult as CheckResultRow
from store.models import Monitor, MonitorSchedule
from store.results import RecordedResult, record_results

MAX_LOG_BYTES = 10 * 1024
PingKind = Literal["success", "start", "fail", "exit"]
PingOutcome = Literal["recorded", "started", "paused", "unknown"]


@dataclass(frozen=True)
class Ping:
    kind: PingKind
    exit_status: int | None = None
    body: bytes = b""
    method: str = "GET"
    source_ip: str | None = None
    user_agent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _spec(monitor: Monitor) -> MonitorSpec:
    return MonitorSpec(
        id=monitor.id,
        name=monitor.name,
        type=monitor.type,
        url=monitor.url,
        region=HEARTBEAT_REGION,
        interval_s=monitor.interval_s,
        config=monitor.config,
        org_id=monitor.org_id,
    )


def ping_result(ping: Ping, *, now: datetime, started_at: datetime | None) -> CheckResult:
    """The check result a ping stands for (pure)."""
    failed = ping.kind == "fail" or (ping.kind == "exit" and ping.exit_status != 0)
    duration_ms = (now - started_at).total_seconds() * 1000 if started_at else None
    text = ping.body[:MAX_LOG_BYTES].decode("utf-8", errors="replace")
    details: dict[str, Any] = {
        "ping": ping.kind,
        "method": ping.method,
        "sourceIp": ping.source_ip,
        "userAgent": ping.user_agent,
    }
    if ping.exit_status is not None:
        details["exitStatus"] = ping.exit_status
    if text:
        details["log"] = text
    if len(ping.body) > MAX_LOG_BYTES:
        details["logTruncated"] = True
    if duration_ms is not None:
        details["durationMs"] = round(duration_ms, 1)
    error = None
    if failed:
        error = (
            f"The job reported failure (exit status {ping.exit_status})"
            if ping.kind == "exit"
            else "The job reported failure (/fail)"
        )
    return CheckResult(
        status="DOWN" if failed else "UP",
        response_time_ms=round(duration_ms) if duration_ms is not None else None,
        error=error,
        details=details,
        checked_at=now,
    )


async def record_ping(store: Store, token: str, ping: Ping, *, clock: Clock) -> PingOutcome:
    """Record a ping for the monitor with this token; ``unknown`` when there is none."""
    now = clock.now()
    async with store.transaction() as session:
        query = (
            select(Monitor, MonitorSchedule)
            .join(
                MonitorSchedule,
                and_(
                    MonitorSchedule.monitor_id == Monitor.id,
                    MonitorSchedule.region == HEARTBEAT_REGION,
                ),
            )
            .where(Monitor.heartbeat_token == token, Monitor.type == "HEARTBEAT")
        )
        if store.is_postgres:
            query = query.with_for_update(of=MonitorSchedule)
        found = (await session.execute(query)).first()
        if found is None:
            # No deadline row: a paused monitor, or no such token at all.
            exists = await session.scalar(
                select(Monitor.id).where(
                    Monitor.heartbeat_token == token, Monitor.type == "HEARTBEAT"
                )
            )
            return "paused" if exists else "unknown"
        monitor, schedule = found
        if not monitor.is_active:
            return "paused"
        if ping.kind == "start":
            schedule.run_started_at = now
            return "started"
        result = ping_result(ping, now=now, started_at=schedule.run_started_at)
        next_deadline = deadline(monitor.config, monitor.interval_s, now)
        if result.status == "UP" and schedule.last_status == "UP":
            await _record_steady(session, monitor, result, next_deadline, now=now)
        else:
            item = RecordedResult(
                monitor=_spec(monitor),
                region=HEARTBEAT_REGION,
                result=result,
                due_at=now,
                started_at=now,
                next_run_at=next_deadline,
            )
            await record_results(session, [item], on_batch=Evaluator(clock))
            schedule.run_started_at = None
        return "recorded"


async def _record_steady(
    session: AsyncSession,
    monitor: Monitor,
    result: CheckResult,
    next_deadline: datetime,
    *,
    now: datetime,
) -> None:
    """An UP ping of an UP monitor: nothing to evaluate, so just the row and the streak."""
    session.add(
        CheckResultRow(
            monitor_id=monitor.id,
            region=HEARTBEAT_REGION,
            status="UP",
            checked_at=now,
            response_time_ms=result.response_time_ms,
            details=result.details,
        )
    )
    await session.execute(
        update(MonitorSchedule)
        .where(
            MonitorSchedule.monitor_id == monitor.id,
            MonitorSchedule.region == HEARTBEAT_REGION,
        )
        .values(
            consecutive_successes=MonitorSchedule.consecutive_successes + 1,
            consecutive_failures=0,
            last_checked_at=now,
            next_run_at=next_deadline,
            run_started_at=None,
        )
    )


def missed_cause(last_ping: datetime | None, expected_at: datetime, created_at: datetime) -> str:
    since = last_ping or created_at
    what = "since" if last_ping else "since the monitor was created at"
    return (
        f"No ping received {what} {since.strftime('%Y-%m-%d %H:%M:%S')} UTC; "
        f"expected by {expected_at.strftime('%Y-%m-%d %H:%M:%S')} UTC"
    )


async def sweep_missed(store: Store, *, clock: Clock, limit: int = 200) -> int:
    """Write a DOWN result for every heartbeat whose deadline has passed."""
    now = clock.now()
    async with store.transaction() as session:
        query = (
            select(MonitorSchedule, Monitor)
            .join(Monitor, Monitor.id == MonitorSchedule.monitor_id)
            .where(
                MonitorSchedule.region == HEARTBEAT_REGION,
                MonitorSchedule.next_run_at <= now,
            )
            .order_by(MonitorSchedule.next_run_at)
            .limit(limit)
        )
        if store.is_postgres:
            query = query.with_for_update(of=MonitorSchedule, skip_locked=True)
        items = []
        for schedule, monitor in (await session.execute(query)).all():
            expected = schedule.next_run_at - timedelta(seconds=grace_s(monitor.config))
            cause = missed_cause(schedule.last_checked_at, expected, monitor.created_at)
            # The next deadline counts on from now, not from the missed one: a long
            # silence is one failure per expected ping, not a burst of catch-up.
            after = max(expected, now - timedelta(seconds=grace_s(monitor.config)))
            items.append(
                RecordedResult(
                    monitor=_spec(monitor),
                    region=HEARTBEAT_REGION,
                    result=CheckResult(
                        status="DOWN",
                        error=cause,
                        details={"ping": "missed", "expectedAt": expected.isoformat()},
                        checked_at=now,
                    ),
                    due_at=schedule.next_run_at,
                    started_at=now,
                    next_run_at=deadline(monitor.config, monitor.interval_s, after),
                )
            )
        if items:
            await record_results(session, items, on_batch=Evaluator(clock))
        return len(items)
