"""Write a batch of check results, the schedule rows' streaks, and the evaluation hook.

Everything for one batch happens in the caller's transaction, in this order:
read (and lock) the schedule rows' streaks; insert the ``check_results`` rows (one
multi-row INSERT) and add them to the rollups (``store.rollups``); update each
schedule row's streaks and clear the lease its worker held; call ``on_batch`` (the incident
evaluator), which sees the new streaks and may ask for an earlier next run by
setting ``RecordedResult.next_run_at``; apply those next runs.
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from checks.base import CheckResult, MonitorSpec
from store.base import UTCDateTime
from store.clock import utc
from store.models import CheckResult as CheckResultRow
from store.models import Monitor, MonitorSchedule
from store.rollups import add_to_rollups

log = logging.getLogger(__name__)

RESULTS: Table = CheckResultRow.__table__  # type: ignore[assignment]
SCHEDULES: Table = MonitorSchedule.__table__  # type: ignore[assignment]


@dataclass
class RecordedResult:
    """One finished run, as the writer records it and the evaluator sees it.

    ``consecutive_failures``/``consecutive_successes``/``previous_status`` are the
    schedule row's streaks after this result, filled in by ``record_results``.
    An evaluator sets ``next_run_at`` to move this (monitor, region)'s next run
    (e.g. the retry interval after a failure).
    """

    monitor: MonitorSpec
    region: str
    result: CheckResult
    due_at: datetime
    started_at: datetime
    worker_id: str | None = None
    lease_until: datetime | None = None
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    previous_status: str | None = None
    next_run_at: datetime | None = None

    @property
    def checked_at(self) -> datetime:
        return self.result.checked_at or self.started_at


OnBatch = Callable[[AsyncSession, Sequence[RecordedResult]], Awaitable[None]]


def is_failure(status: str) -> bool:
    """DOWN counts toward the failure streak; UP and DEGRADED (reachable) do not."""
    return status == "DOWN"


# In a result's details: the worker's canary failed, so a failure says nothing of the target.
PROBE_UNHEALTHY = "probeUnhealthy"


def is_suspect_failure(item: RecordedResult) -> bool:
    """A failure from a worker whose own connectivity check failed: kept, not counted."""
    return is_failure(item.result.status) and PROBE_UNHEALTHY in item.result.details


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters replaced: PostgreSQL refuses them in text and JSON.

    A binary banner in a TCP reply or a TXT record must not make a whole batch of
    results (every monitor of the region) fail to write.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value


def is_plain(item: RecordedResult) -> bool:
    """An UP result after an UP one (same region): nothing in it is evidence to keep.

    Such a row stores no JSON: its lateness has a column and its slot is
    ``checked_at - lateness``. Failures, DEGRADED results, state changes, browser
    runs (their steps and screenshots) and heartbeat pings (what the job sent) keep
    their details.
    """
    return (
        item.result.status == "UP"
        and item.previous_status == "UP"
        and item.monitor.type not in ("BROWSER", "HEARTBEAT")
    )


# A 4-byte column: a slot missed by weeks (a paused fleet, a frozen test clock)
# must not make the batch fail to write. The details keep the exact figure.
INT_MAX = 2**31 - 1


def _lateness_ms(item: RecordedResult) -> int:
    # From the row's own time, so that checked_at - lateness is the slot (to the ms).
    late = round((item.checked_at - item.due_at).total_seconds() * 1000)
    return max(-INT_MAX, min(INT_MAX, late))


def _f32(value: float) -> bytes:
    return struct.pack("f", value)


def as_real(value: float | None) -> float | None:
    """``value`` as PostgreSQL gives back a 4-byte float: the shortest decimal that
    is the same float32. The rollups then add up exactly what the raw rows hold."""
    if value is None or not math.isfinite(value):
        return value
    target = _f32(value)
    exact = struct.unpack("f", target)[0]
    for digits in range(1, 10):
        shorter = float(f"{exact:.{digits}g}")
        if _f32(shorter) == target:
            return shorter
    return value


def _row(item: RecordedResult, num: int) -> dict[str, Any]:
    r = item.result
    t = r.timings
    return {
        "monitor_num": num,
        "region": item.region,
        "status": r.status,
        "checked_at": item.checked_at,
        "response_time_ms": r.response_time_ms,
        "status_code": r.status_code,
        "dns_ms": as_real(t.dns),
        "tcp_ms": as_real(t.tcp),
        "tls_ms": as_real(t.tls),
        "ttfb_ms": as_real(t.ttfb),
        "download_ms": as_real(t.download),
        "total_ms": as_real(t.total),
        "size_bytes": r.size_bytes,
        "error": without_nul(r.error),
        "details": None if is_plain(item) else without_nul(r.details) or None,
        "lateness_ms": _lateness_ms(item),
    }


async def _existing_monitors(session: AsyncSession, ids: set[str]) -> dict[str, int]:
    """The ``num`` of each monitor of ``ids`` that still exists, by id."""
    found = await session.execute(select(Monitor.id, Monitor.num).where(Monitor.id.in_(ids)))
    return {monitor_id: num for monitor_id, num in found}


async def _streaks(
    session: AsyncSession, ids: set[str], *, lock: bool
) -> dict[tuple[str, str], tuple[int, int, str | None]]:
    query = (
        select(
            SCHEDULES.c.monitor_id,
            SCHEDULES.c.region,
            SCHEDULES.c.consecutive_failures,
            SCHEDULES.c.consecutive_successes,
            SCHEDULES.c.last_status,
        )
        .where(SCHEDULES.c.monitor_id.in_(ids))
        .order_by(SCHEDULES.c.monitor_id, SCHEDULES.c.region)
    )
    if lock:
        query = query.with_for_update()
    rows = await session.execute(query)
    return {(m, r): (f, s, last) for m, r, f, s, last in rows}


async def record_results(
    session: AsyncSession,
    items: Sequence[RecordedResult],
    *,
    on_batch: OnBatch | None = None,
) -> list[RecordedResult]:
    """Record ``items`` in the caller's transaction; returns those recorded.

    Results of monitors deleted meanwhile are dropped (there is nothing to attach
    them to). ``on_batch`` runs after the streaks are updated, in the same transaction.
    """
    if not items:
        return []
    is_pg = session.get_bind().dialect.name == "postgresql"
    ids = {i.monitor.id for i in items}
    live = await _existing_monitors(session, ids)
    kept = sorted((i for i in items if i.monitor.id in live), key=lambda i: i.checked_at)
    if len(kept) < len(items):
        log.debug("dropped %d results of deleted monitors", len(items) - len(kept))
    if not kept:
        return []

    streaks = await _streaks(session, set(live), lock=is_pg)
    last: dict[tuple[str, str], RecordedResult] = {}
    for item in kept:
        key = (item.monitor.id, item.region)
        failures, successes, previous = streaks.get(key, (0, 0, None))
        if is_suspect_failure(item):
            pass  # the streaks stay as they were: this failure is no evidence either way
        elif is_failure(item.result.status):
            failures, successes = failures + 1, 0
        else:
            failures, successes = 0, successes + 1
        item.consecutive_failures = failures
        item.consecutive_successes = successes
        item.previous_status = previous
        streaks[key] = (failures, successes, item.result.status)
        last[key] = item
    # Written once the streaks are known: they tell which rows are plain.
    rows = [_row(i, live[i.monitor.id]) for i in kept]
    await session.execute(insert(RESULTS), rows)
    await add_to_rollups(session, rows, {num: monitor_id for monitor_id, num in live.items()})
    await _update_schedules(session, list(last.values()))

    if on_batch is not None:
        await on_batch(session, kept)
    await _apply_next_runs(session, [i for i in kept if i.next_run_at is not None])
    return kept


def _key_match() -> ColumnElement[bool]:
    return and_(
        SCHEDULES.c.monitor_id == bindparam("m"),
        SCHEDULES.c.region == bindparam("r"),
    )


async def _update_schedules(session: AsyncSession, items: Sequence[RecordedResult]) -> None:
    # The lease is cleared only if it is still this run's: after it lapsed another
    # worker may hold the row, or this worker may hold it for the next slot.
    mine = and_(
        SCHEDULES.c.leased_by == bindparam("by"),
        SCHEDULES.c.lease_until == bindparam("lease", type_=UTCDateTime),
    )
    await session.execute(
        update(SCHEDULES)
        .where(_key_match())
        .values(
            consecutive_failures=bindparam("f"),
            consecutive_successes=bindparam("s"),
            last_status=bindparam("st"),
            last_checked_at=bindparam("at", type_=UTCDateTime),
            lease_until=case((mine, None), else_=SCHEDULES.c.lease_until),
            leased_by=case((mine, None), else_=SCHEDULES.c.leased_by),
            leased_slot_at=case((mine, None), else_=SCHEDULES.c.leased_slot_at),
        ),
        [
            {
                "m": i.monitor.id,
                "r": i.region,
                "f": i.consecutive_failures,
                "s": i.consecutive_successes,
                "st": i.result.status,
                "at": i.checked_at,
                "by": i.worker_id or "",
                "lease": i.lease_until,
            }
            for i in items
        ],
    )


async def _apply_next_runs(session: AsyncSession, items: Sequence[RecordedResult]) -> None:
    if not items:
        return
    await session.execute(
        update(SCHEDULES)
        .where(_key_match())
        .values(next_run_at=bindparam("next", type_=UTCDateTime)),
        [
            {"m": i.monitor.id, "r": i.region, "next": utc(i.next_run_at)}
            for i in items
            if i.next_run_at is not None
        ],
    )
