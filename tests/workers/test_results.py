from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from checks.base import CheckResult, MonitorSpec, Timings
from store.db import Store
from store.models import CheckResult as CheckResultRow
from store.models import MonitorSchedule
from store.results import RecordedResult, record_results
from tests.store.history import nums_of
from tests.workers.seed import add_monitors
from workers.results import ResultWriter

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


LEASE = T0 + timedelta(minutes=1)


def _item(monitor_id: str, status: str, *, at: datetime, worker: str = "w1") -> RecordedResult:
    result = CheckResult(
        status=status,  # type: ignore[arg-type]
        response_time_ms=42,
        status_code=200 if status == "UP" else 503,
        timings=Timings(dns=1.5, tcp=2.0, tls=3.0, ttfb=30.0, download=5.5, total=42.0),
        size_bytes=2,
        error=None if status == "UP" else "Expected status 200, got 503",
        details={"latenessMs": 3.2},
        checked_at=at,
    )
    spec = MonitorSpec(id=monitor_id, name="site", type="HTTP", url="http://127.0.0.1:9/")
    return RecordedResult(
        monitor=spec,
        region="local",
        result=result,
        due_at=at,
        started_at=at,
        worker_id=worker,
        lease_until=LEASE,
    )


async def _lease(store: Store, monitor_id: str, worker: str) -> None:
    async with store.transaction() as s:
        await s.execute(
            update(MonitorSchedule)
            .where(MonitorSchedule.monitor_id == monitor_id)
            .values(leased_by=worker, lease_until=LEASE)
        )


async def _schedule(store: Store, monitor_id: str) -> MonitorSchedule:
    async with store.sessions() as s:
        return await s.get_one(MonitorSchedule, (monitor_id, "local"))


async def test_record_results_writes_every_field_and_the_streaks(store: Store) -> None:
    mine, theirs = await add_monitors(store, 2, url="http://127.0.0.1:9/", now=T0)
    await _lease(store, mine, "w1")
    await _lease(store, theirs, "w2")
    items = [
        _item(mine, "DOWN", at=T0 + timedelta(seconds=1)),
        _item(mine, "DOWN", at=T0 + timedelta(seconds=2)),
        _item(theirs, "UP", at=T0 + timedelta(seconds=1)),
    ]

    async with store.transaction() as s:
        await record_results(s, items)

    async with store.sessions() as s:
        rows = (await s.scalars(select(CheckResultRow).order_by(CheckResultRow.checked_at))).all()
        nums = await nums_of(s, theirs, mine)
    up = next(r for r in rows if r.monitor_num == nums[theirs])
    assert (up.status, up.region, up.status_code, up.response_time_ms) == ("UP", "local", 200, 42)
    assert (up.dns_ms, up.tcp_ms, up.tls_ms, up.ttfb_ms, up.download_ms, up.total_ms) == (
        1.5,
        2.0,
        3.0,
        30.0,
        5.5,
        42.0,
    )
    assert (up.size_bytes, up.error, up.details) == (2, None, {"latenessMs": 3.2})
    assert up.checked_at == T0 + timedelta(seconds=1)
    errors = [r.error for r in rows if r.monitor_num == nums[mine]]
    assert errors == ["Expected status 200, got 503"] * 2

    down = await _schedule(store, mine)
    assert (down.consecutive_failures, down.consecutive_successes, down.last_status) == (
        2,
        0,
        "DOWN",
    )
    assert (down.lease_until, down.leased_by) == (None, None)
    assert down.last_checked_at == T0 + timedelta(seconds=2)
    # w1 wrote this result, but w2 holds the row now: its lease stays.
    other = await _schedule(store, theirs)
    assert (other.consecutive_successes, other.leased_by) == (1, "w2")
    assert [(i.consecutive_failures, i.previous_status) for i in items] == [
        (1, None),
        (2, "DOWN"),
        (0, None),
    ]


async def test_record_results_on_batch_sees_streaks_and_sets_next_run(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
    await _lease(store, mid, "w1")
    retry_at = T0 + timedelta(seconds=20)
    seen: list[tuple[int, int]] = []

    async def evaluate(session: AsyncSession, batch: Sequence[RecordedResult]) -> None:
        # Same transaction: the rows just inserted are visible here.
        stored = await session.scalar(select(func.count()).select_from(CheckResultRow))
        row = await session.get_one(MonitorSchedule, (mid, "local"))
        seen.append((stored or 0, row.consecutive_failures))
        for item in batch:
            if item.consecutive_failures >= 1:
                item.next_run_at = retry_at

    async with store.transaction() as s:
        await record_results(s, [_item(mid, "DOWN", at=T0)], on_batch=evaluate)

    assert seen == [(1, 1)]
    assert (await _schedule(store, mid)).next_run_at == retry_at


async def test_record_results_failing_evaluation_writes_nothing(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)

    async def broken(session: AsyncSession, batch: Sequence[RecordedResult]) -> None:
        raise RuntimeError("evaluator bug")

    with pytest.raises(RuntimeError, match="evaluator bug"):
        async with store.transaction() as s:
            await record_results(s, [_item(mid, "DOWN", at=T0)], on_batch=broken)

    async with store.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(CheckResultRow)) == 0
    assert (await _schedule(store, mid)).consecutive_failures == 0


async def test_record_results_drops_results_of_deleted_monitors(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)

    async with store.transaction() as s:
        kept = await record_results(s, [_item(mid, "UP", at=T0), _item("mon_gone", "UP", at=T0)])

    assert [i.monitor.id for i in kept] == [mid]


async def _count(store: Store) -> int:
    async with store.sessions() as s:
        return await s.scalar(select(func.count()).select_from(CheckResultRow)) or 0


async def _wait_for_rows(store: Store, n: int, *, within_s: float) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    while await _count(store) < n:
        assert loop.time() - start < within_s, f"fewer than {n} rows after {within_s} s"
        await asyncio.sleep(0.02)
    return loop.time() - start


async def test_result_writer_flushes_a_part_batch_within_a_second(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
    writer = ResultWriter(store, batch_size=200, flush_every_s=0.3)
    writer.start()
    try:
        writer.add(_item(mid, "UP", at=T0))
        await _wait_for_rows(store, 1, within_s=1.0)
    finally:
        await writer.close()


async def test_result_writer_flushes_a_full_batch_at_once(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
    writer = ResultWriter(store, batch_size=50, flush_every_s=30.0)
    writer.start()
    try:
        for i in range(50):
            writer.add(_item(mid, "UP", at=T0 + timedelta(seconds=i)))
        await _wait_for_rows(store, 50, within_s=5.0)
        assert writer.written == 50
    finally:
        await writer.close()
    assert (await _schedule(store, mid)).consecutive_successes == 50


async def _rename_results_table(store: Store, old: str, new: str) -> None:
    async with store.transaction() as s:
        await s.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


async def test_result_writer_keeps_a_batch_the_store_refused_and_writes_it_once_later(
    store: Store,
) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
    writer = ResultWriter(store, batch_size=2, flush_every_s=30.0)
    items = [_item(mid, "UP", at=T0 + timedelta(seconds=i)) for i in range(5)]
    for item in items:
        writer.add(item)
    # A real store error: the table is not there while the writer writes.
    await _rename_results_table(store, "check_results", "check_results_away")
    with pytest.raises((ProgrammingError, OperationalError)):
        await writer.flush()
    assert writer.pending == 5 and writer.written == 0
    await _rename_results_table(store, "check_results_away", "check_results")
    await writer.flush()
    assert writer.pending == 0 and writer.written == 5
    async with store.sessions() as s:
        written = list(
            await s.scalars(select(CheckResultRow.checked_at).order_by(CheckResultRow.id))
        )
    assert written == [i.checked_at for i in items]
