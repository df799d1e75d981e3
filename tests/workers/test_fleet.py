"""Real worker processes sharing one region on PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from store.db import Store
from store.models import CheckResult as CheckResultRow
from store.models import Monitor, MonitorSchedule
from store.models import Worker as WorkerRow
from tests.servers.tiny_http import TinyHTTPServer
from tests.workers.seed import add_monitors

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


class WorkerProcess:
    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    async def exit_code(self, *, within_s: float) -> int:
        async with asyncio.timeout(within_s):
            return await self.proc.wait()


@asynccontextmanager
async def worker_processes(
    database_url: str, tmp_path: Path, count: int, *, region: str = "local"
) -> AsyncIterator[list[WorkerProcess]]:
    env = {**os.environ, "VIGIL_DATABASE_URL": database_url, "VIGIL_LOG_LEVEL": "info"}
    started: list[WorkerProcess] = []
    try:
        for i in range(count):
            log_path = tmp_path / f"worker-{i}.log"
            with log_path.open("wb") as log:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    *("-m", "workers.cli", "worker", "--region", region, "--concurrency", "64"),
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            started.append(WorkerProcess(proc, log_path))
        yield started
    finally:
        for w in started:
            if w.proc.returncode is None:
                w.proc.kill()
                await w.proc.wait()


async def _wait_until(
    condition: Callable[[], Awaitable[bool]], *, within_s: float, what: str
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await condition():
        assert loop.time() < deadline, f"timed out after {within_s} s waiting for {what}"
        await asyncio.sleep(0.1)


async def _count_results(store: Store) -> int:
    async with store.sessions() as s:
        return await s.scalar(select(func.count()).select_from(CheckResultRow)) or 0


async def _slots(store: Store) -> dict[str, list[datetime]]:
    """Each monitor's run slots, in order, to the millisecond: a plain result stores
    none, its slot is ``checked_at - lateness_ms`` (as the API derives it)."""
    async with store.sessions() as s:
        rows = (
            await s.execute(
                select(CheckResultRow, Monitor.id).join(
                    Monitor, Monitor.num == CheckResultRow.monitor_num
                )
            )
        ).all()
    slots: dict[str, list[datetime]] = defaultdict(list)
    for row, monitor_id in rows:
        assert row.lateness_ms is not None
        slot = row.checked_at - timedelta(milliseconds=row.lateness_ms)
        slots[monitor_id].append(slot.replace(microsecond=slot.microsecond // 1000 * 1000))
    return {m: sorted(s) for m, s in slots.items()}


async def _no_lease_held(store: Store) -> bool:
    async with store.sessions() as s:
        held = await s.scalar(
            select(func.count())
            .select_from(MonitorSchedule)
            .where(MonitorSchedule.leased_by.is_not(None))
        )
    return held == 0


async def test_two_workers_run_every_slot_exactly_once(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    interval = timedelta(seconds=3)
    async with TinyHTTPServer() as target:
        ids = await add_monitors(
            store, 200, url=target.url, now=datetime.now(UTC), interval_s=3, timeout_s=2
        )
        async with worker_processes(database_url, tmp_path, 2) as workers:

            async def five_slots_each() -> bool:
                return await _count_results(store) >= 200 * 6

            await _wait_until(five_slots_each, within_s=60, what="six slots of 200 monitors")
            for w in workers:
                w.proc.send_signal(signal.SIGTERM)
            assert [await w.exit_code(within_s=15) for w in workers] == [0, 0]

    slots = await _slots(store)
    assert set(slots) == set(ids)
    for monitor_id, runs in slots.items():
        assert len(set(runs)) == len(runs), f"{monitor_id} ran a slot twice: {runs}"
        # The first run may be a slot missed before the workers were up; from
        # then on every slot runs, none skipped.
        gaps = {b - a for a, b in itertools.pairwise(runs[1:])}
        ms = timedelta(milliseconds=1)
        assert all(abs(g - interval) <= ms for g in gaps), f"{monitor_id} skipped a slot: {runs}"
        assert len(runs) >= 5
    written = [int(re.findall(r"(\d+) results written", w.log)[-1]) for w in workers]
    assert sum(written) == sum(len(r) for r in slots.values())
    assert min(written) > 0, f"one worker did all the work: {written}"
    assert await _no_lease_held(store)


async def test_killed_workers_monitors_are_taken_over_after_its_leases_expire(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    async with TinyHTTPServer() as target:
        await add_monitors(
            store, 100, url=target.url, now=datetime.now(UTC), interval_s=2, timeout_s=1
        )
        async with worker_processes(database_url, tmp_path, 2) as (doomed, survivor):

            async def both_registered_and_running() -> bool:
                async with store.sessions() as s:
                    pids = set((await s.scalars(select(WorkerRow.pid))).all())
                return pids == {doomed.proc.pid, survivor.proc.pid} and (
                    await _count_results(store) >= 200
                )

            await _wait_until(both_registered_and_running, within_s=20, what="both workers")
            async with store.sessions() as s:
                doomed_id = await s.scalar(
                    select(WorkerRow.id).where(WorkerRow.pid == doomed.proc.pid)
                )

            async def doomed_holds_leases() -> bool:
                # Its peer may have claimed every due row at this instant: kill the
                # worker while it holds work, which is the case under test.
                async with store.sessions() as s:
                    held = await s.scalar(
                        select(func.count()).where(MonitorSchedule.leased_by == doomed_id)
                    )
                return bool(held)

            await _wait_until(doomed_holds_leases, within_s=20, what="leases held by the worker")
            doomed.proc.kill()
            assert await doomed.exit_code(within_s=5) == -signal.SIGKILL
            killed_at = datetime.now(UTC)
            async with store.sessions() as s:
                held = (
                    await s.execute(
                        select(MonitorSchedule.monitor_id, MonitorSchedule.lease_until).where(
                            MonitorSchedule.leased_by == doomed_id
                        )
                    )
                ).all()
            assert held, "the killed worker held no leases; nothing to take over"
            latest_expiry = max(lease for _, lease in held if lease is not None)
            orphans = {m for m, _ in held}

            async def all_checked_again() -> bool:
                async with store.sessions() as s:
                    rechecked = set(
                        (
                            await s.scalars(
                                select(Monitor.id)
                                .select_from(CheckResultRow)
                                .join(Monitor, Monitor.num == CheckResultRow.monitor_num)
                                .where(
                                    Monitor.id.in_(orphans),
                                    CheckResultRow.checked_at > latest_expiry,
                                )
                            )
                        ).all()
                    )
                return rechecked == orphans

            # Leases end at most timeout + margin after the slot; then one interval.
            within = (latest_expiry - killed_at).total_seconds() + 2 + 3
            await _wait_until(all_checked_again, within_s=within, what="the orphans re-run")
            survivor.proc.send_signal(signal.SIGTERM)
            assert await survivor.exit_code(within_s=15) == 0

    slots = await _slots(store)
    assert all(len(set(runs)) == len(runs) for runs in slots.values())


async def test_sigterm_exits_cleanly_with_in_flight_results_written(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    async with TinyHTTPServer(delay_s=1.0) as target:
        now = datetime.now(UTC)
        ids = await add_monitors(store, 20, url=target.url, now=now, interval_s=60, timeout_s=5)
        async with store.transaction() as s:
            await s.execute(update(MonitorSchedule).values(next_run_at=now))
        async with worker_processes(database_url, tmp_path, 1) as (worker,):

            async def all_in_flight() -> bool:
                return target.started == 8  # the per-host limit

            await _wait_until(all_in_flight, within_s=15, what="checks in flight")
            worker.proc.send_signal(signal.SIGTERM)
            assert await worker.exit_code(within_s=15) == 0, worker.log
        answered = target.answered

    async with store.sessions() as s:
        recorded = (
            await s.scalars(
                select(Monitor.id)
                .select_from(CheckResultRow)
                .join(Monitor, Monitor.num == CheckResultRow.monitor_num)
            )
        ).all()
        workers_left = (await s.scalars(select(WorkerRow.id))).all()
        due = (
            await s.scalars(
                select(MonitorSchedule.monitor_id).where(MonitorSchedule.next_run_at == now)
            )
        ).all()
    assert answered == 8
    assert len(recorded) == 8
    # The 12 runs waiting for the per-host limit were handed back, not dropped.
    assert sorted([*recorded, *due]) == sorted(ids)
    assert await _no_lease_held(store)
    assert workers_left == []
    assert "8 results written, 12 runs handed back" in worker.log
