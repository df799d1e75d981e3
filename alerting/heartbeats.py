"""Heartbeat pings and missed deadlines, written as check results and evaluated.

A ping is a result: success (or exit status 0) is UP, ``/fail`` or a non-zero exit
status is DOWN at once; ``/start`` only notes the start so the next success gets
the run's duration. A deadline that passes without a ping is a DOWN result written
by the sweep. Results go through the same writer and incident evaluator as
scheduled checks; a success that changes nothing takes a short path (one INSERT,
one UPDATE) so pings stay cheap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, exists, insert, select, update

from alerting.evaluator import Evaluator
from checks.base import CheckResult, MonitorSpec
from checks.heartbeat_config import deadline, grace_s
from store.clock import Clock
from store.db import Store
from store.heartbeats import HEARTBEAT_REGION
from store.models import CheckResult as CheckResultRow
from store.models import Incident, Monitor, MonitorSchedule
from store.results import RecordedResult, record_results, without_nul
from store.rollup_models import PHASES
from store.rollups import add_to_rollups, day_of, hour_of
from telemetry.metrics import HEARTBEAT_SWEEP_LAG

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
    text = without_nul(ping.body[:MAX_LOG_BYTES].decode("utf-8", errors="replace"))
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


@dataclass(frozen=True)
class _Known:
    """What a ping's short path needs to know about a monitor, as of ``updated_at``."""

    monitor_id: str
    interval_s: int
    config: Mapping[str, Any]
    updated_at: datetime
    # Monitor.num: the key its check results carry (it never changes).
    num: int


# (store URL, token) -> monitor facts. The short path re-checks them in SQL
# (updated_at, active, last status), so a stale entry costs only a fall-back.
_known: dict[tuple[str, str], _Known] = {}
_KNOWN_MAX = 100_000


async def record_ping(store: Store, token: str, ping: Ping, *, clock: Clock) -> PingOutcome:
    """Record a ping for the monitor with this token; ``unknown`` when there is none."""
    now = clock.now()
    key = (store.url, token)
    known = _known.get(key)
    if known is not None and ping.kind != "start":
        result = ping_result(ping, now=now, started_at=None)
        if result.status == "UP" and await _record_steady(store, known, result, now=now):
            return "recorded"
    outcome, fresh = await _record_full(store, token, ping, clock=clock, now=now)
    if fresh is None:
        _known.pop(key, None)
    else:
        if len(_known) >= _KNOWN_MAX:
            _known.clear()
        _known[key] = fresh
    return outcome


async def _record_full(
    store: Store, token: str, ping: Ping, *, clock: Clock, now: datetime
) -> tuple[PingOutcome, _Known | None]:
    """Any ping, through the result writer and the incident evaluator."""
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
            return ("paused" if exists else "unknown"), None
        monitor, schedule = found
        if not monitor.is_active:
            return "paused", None
        known = _Known(
            monitor.id, monitor.interval_s, dict(monitor.config), monitor.updated_at, monitor.num
        )
        schedule.last_ping_at = now
        if ping.kind == "start":
            schedule.run_started_at = now
            return "started", known
        item = RecordedResult(
            monitor=_spec(monitor),
            region=HEARTBEAT_REGION,
            result=ping_result(ping, now=now, started_at=schedule.run_started_at),
            due_at=now,
            started_at=now,
            next_run_at=deadline(monitor.config, monitor.interval_s, now),
        )
        await record_results(session, [item], on_batch=Evaluator(clock))
        schedule.run_started_at = None
        return "recorded", known


# The steady path on PostgreSQL: one round trip, the UPDATE's RETURNING feeding the
# INSERT. Plain SQL: building and caching an expression per ping cost more than the
# database work itself.
_STEADY_PG = """
WITH bumped AS (
    UPDATE monitor_schedules
    SET consecutive_successes = consecutive_successes + 1, consecutive_failures = 0,
        last_checked_at = %(now)s, last_ping_at = %(now)s, next_run_at = %(deadline)s
    WHERE monitor_id = %(mid)s AND region = %(region)s AND last_status = 'UP'
      AND run_started_at IS NULL
      AND EXISTS (SELECT 1 FROM monitors
                  WHERE id = %(mid)s AND updated_at = %(updated)s AND is_active)
      AND NOT EXISTS (SELECT 1 FROM incidents WHERE monitor_id = %(mid)s AND is_active)
    RETURNING monitor_id
), in_window AS (
    SELECT count(*) > 0 AS yes FROM maintenance_windows w JOIN monitors m ON m.id = %(mid)s
    WHERE w.org_id = m.org_id AND (w.monitor_id IS NULL OR w.monitor_id = m.id)
      AND w.is_active AND w.starts_at <= %(now)s AND w.ends_at > %(now)s
), hourly AS ({hourly}), daily AS ({daily})
INSERT INTO check_results (monitor_num, region, status, checked_at, response_time_ms, details)
SELECT %(num)s, %(region)s, 'UP', %(now)s, %(rt)s, %(details)s::jsonb FROM bumped
RETURNING id
"""
# Adds the ping to one rollup level, as the writer's upsert would.
_ROLLUP_PG = """
    INSERT INTO {table} AS r (monitor_id, region, bucket_at, checks, up, maintenance, hours_mask)
    SELECT monitor_id, %(region)s, %({bucket})s, 1, 1, in_window.yes::int, %(bit)s
    FROM bumped, in_window
    ON CONFLICT (monitor_id, region, bucket_at) DO UPDATE
    SET checks = r.checks + 1, up = r.up + 1, maintenance = r.maintenance + excluded.maintenance,
        hours_mask = r.hours_mask | excluded.hours_mask
"""
_STEADY_PG = _STEADY_PG.format(
    hourly=_ROLLUP_PG.format(table="check_rollups_hourly", bucket="hour"),
    daily=_ROLLUP_PG.format(table="check_rollups_daily", bucket="day"),
)


async def _record_steady(
    store: Store, known: _Known, result: CheckResult, *, now: datetime
) -> bool:
    """An UP ping of an UP monitor with no run in progress: one row and the streak.

    There is nothing to evaluate, so this skips the writer and the evaluator; it
    returns False (and writes nothing) unless the stored state is what it assumes.
    """
    next_deadline = deadline(known.config, known.interval_s, now)
    if store.is_postgres:
        async with store.raw() as raw:
            params = {
                "now": now,
                "deadline": next_deadline,
                "mid": known.monitor_id,
                "num": known.num,
                "region": HEARTBEAT_REGION,
                "updated": known.updated_at,
                "rt": result.response_time_ms,
                "details": json.dumps(result.details),
                # The rollups' buckets: the ping adds to them as the writer would.
                "hour": hour_of(now),
                "day": day_of(now),
                "bit": 1 << now.hour,
            }
            cursor = await raw.execute(_STEADY_PG, params)
            return await cursor.fetchone() is not None
    async with store.transaction() as conn:
        bumped = await conn.execute(
            update(MonitorSchedule)
            .where(
                MonitorSchedule.monitor_id == known.monitor_id,
                MonitorSchedule.region == HEARTBEAT_REGION,
                MonitorSchedule.last_status == "UP",
                MonitorSchedule.run_started_at.is_(None),
                exists().where(
                    Monitor.id == known.monitor_id,
                    Monitor.updated_at == known.updated_at,
                    Monitor.is_active.is_(True),
                ),
                # An open incident may still need this success to recover.
                ~exists().where(
                    Incident.monitor_id == known.monitor_id, Incident.is_active.is_(True)
                ),
            )
            .values(
                consecutive_successes=MonitorSchedule.consecutive_successes + 1,
                consecutive_failures=0,
                last_checked_at=now,
                last_ping_at=now,
                next_run_at=next_deadline,
            )
            .returning(MonitorSchedule.monitor_id)
        )
        if bumped.first() is None:
            return False
        row: dict[str, Any] = {
            "monitor_num": known.num,
            "region": HEARTBEAT_REGION,
            "status": "UP",
            "checked_at": now,
            "response_time_ms": result.response_time_ms,
            "details": result.details,
        }
        await conn.execute(insert(CheckResultRow).values(**row))
        timings = dict.fromkeys((f"{p}_ms" for p in PHASES), None)
        await add_to_rollups(
            conn, [{**row, **timings, "size_bytes": None}], {known.num: known.monitor_id}
        )
        return True


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
            cause = missed_cause(schedule.last_ping_at, expected, monitor.created_at)
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
        lag = (now - min(item.due_at for item in items)).total_seconds() if items else 0.0
        HEARTBEAT_SWEEP_LAG.set(max(0.0, lag))
        if items:
            await record_results(session, items, on_batch=Evaluator(clock))
        return len(items)
