from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import select, update

from store.config import Settings
from store.db import Store
from store.models import CheckResult as CheckResultRow
from store.models import Monitor, MonitorSchedule
from store.models import Worker as WorkerRow
from tests.servers.tiny_http import TinyHTTPServer
from tests.workers.seed import add_monitors
from workers.worker import Worker


async def _wait_until(
    condition: Callable[[], Awaitable[bool]], *, within_s: float, what: str
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await condition():
        assert loop.time() < deadline, f"timed out after {within_s} s waiting for {what}"
        await asyncio.sleep(0.05)


async def _results(store: Store) -> list[CheckResultRow]:
    async with store.sessions() as s:
        return list((await s.scalars(select(CheckResultRow))).all())


async def _monitor_ids(store: Store, nums: set[int]) -> set[str]:
    async with store.sessions() as s:
        return set((await s.scalars(select(Monitor.id).where(Monitor.num.in_(nums)))).all())


async def _schedules(store: Store) -> list[MonitorSchedule]:
    async with store.sessions() as s:
        return list((await s.scalars(select(MonitorSchedule))).all())


async def _due_at(store: Store, ids: list[str], when: datetime) -> None:
    async with store.transaction() as s:
        await s.execute(
            update(MonitorSchedule)
            .where(MonitorSchedule.monitor_id.in_(ids))
            .values(next_run_at=when)
        )


async def test_worker_two_regions_tag_results_with_their_region(store: Store) -> None:
    settings = Settings(database_url=store.url)
    async with TinyHTTPServer() as target:
        now = datetime.now(UTC)
        ids = await add_monitors(store, 1, url=target.url, now=now, regions=("a", "b"))
        await _due_at(store, ids, now)
        workers = [Worker(store, settings, region=r, concurrency=8) for r in ("a", "b")]
        for w in workers:
            await w.start()
        try:

            async def both_ran() -> bool:
                return len(await _results(store)) >= 2

            await _wait_until(both_ran, within_s=10, what="a result from each region")
        finally:
            for w in workers:
                await w.stop()

    rows = await _results(store)
    assert sorted((r.region, r.status, r.status_code) for r in rows) == [
        ("a", "UP", 200),
        ("b", "UP", 200),
    ]
    assert all(r.details and -5 < r.details["latenessMs"] < 5000 for r in rows)
    assert [(s.leased_by, s.consecutive_successes) for s in await _schedules(store)] == [
        (None, 1),
        (None, 1),
    ]
    async with store.sessions() as s:
        assert (await s.scalars(select(WorkerRow.id))).all() == []


async def test_worker_stop_finishes_started_checks_and_hands_back_the_rest(
    store: Store,
) -> None:
    settings = Settings(database_url=store.url)
    async with TinyHTTPServer(delay_s=1.0) as target:
        now = datetime.now(UTC)
        ids = await add_monitors(store, 10, url=target.url, now=now)
        await _due_at(store, ids, now)
        # Five checks run at once against the one host; five wait their turn.
        worker = Worker(store, settings, region="local", concurrency=16, per_host=5)
        await worker.start()
        try:

            async def in_flight() -> bool:
                return target.started == 5

            await _wait_until(in_flight, within_s=5, what="five checks in flight")
            assert worker.pending == 10
        finally:
            await worker.stop(deadline_s=5)
        answered = target.answered

    rows = await _results(store)
    assert answered == 5
    assert len(rows) == 5
    assert {r.status for r in rows} == {"UP"}
    schedules = await _schedules(store)
    assert all(s.lease_until is None and s.leased_by is None for s in schedules)
    # The slots not started go back to the region, unchanged.
    ran = await _monitor_ids(store, {r.monitor_num for r in rows})
    assert {s.next_run_at for s in schedules if s.monitor_id not in ran} == {now}
    assert len(ran) == 5
