"""Confirmation from another region: one region's failure opens nothing until another agrees."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from alerting.evaluator import Evaluator
from checks.base import CheckContext
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.models import CheckResult as CheckResultRow
from store.models import Monitor, MonitorSchedule, monitor_num
from tests.alerting.helpers import incidents, make_channel, make_monitor, make_org, outbox, record
from tests.servers.dns import DnsServer
from tests.servers.tiny_http import TinyHTTPServer
from workers.worker import Worker


async def next_run(store: Store, monitor: Monitor, region: str) -> datetime:
    async with store.sessions() as s:
        row = await s.get(MonitorSchedule, (monitor.id, region))
        assert row is not None
        return row.next_run_at


async def push_back(store: Store, monitor: Monitor, region: str, when: datetime) -> None:
    async with store.transaction() as s:
        await s.execute(
            update(MonitorSchedule)
            .where(MonitorSchedule.monitor_id == monitor.id, MonitorSchedule.region == region)
            .values(next_run_at=when)
        )


async def test_one_region_failing_asks_the_other_and_opens_only_if_it_agrees(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(
        store, clock, org, regions=["a", "b"], region_quorum=1, confirm_other_region=True
    )
    later = clock.now() + timedelta(seconds=30)
    await push_back(store, monitor, "b", later)

    await record(store, clock, monitor, "DOWN", region="a", error="Connection refused")
    assert await next_run(store, monitor, "b") == later  # not yet confirmed in a
    clock.advance(10)
    await record(store, clock, monitor, "DOWN", region="a", error="Connection refused")
    # Confirmed in a: b is asked to check now, and nothing opens meanwhile.
    assert await next_run(store, monitor, "b") == clock.now()
    assert await incidents(store, monitor.id) == []

    clock.advance(1)
    await push_back(store, monitor, "b", later)
    await record(store, clock, monitor, "UP", region="b")
    assert await incidents(store, monitor.id) == []
    assert await next_run(store, monitor, "b") == later  # b's UP does not ask again
    assert await outbox(store) == []

    clock.advance(9)
    await record(store, clock, monitor, "DOWN", region="a", error="Connection refused")
    assert await next_run(store, monitor, "b") == clock.now()
    clock.advance(1)
    await record(store, clock, monitor, "DOWN", region="b", error="Connection refused")

    (incident,) = await incidents(store, monitor.id)
    assert incident.regions == ["a", "b"]
    assert [r.event_type for r in await outbox(store)] == ["monitor.down"]


async def test_without_confirmation_one_region_opens_at_once(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    monitor = await make_monitor(store, clock, org, regions=["a", "b"], region_quorum=1)
    for _ in range(2):
        await record(store, clock, monitor, "DOWN", region="a", error="Connection refused")
        clock.advance(10)
    (incident,) = await incidents(store, monitor.id)
    assert incident.regions == ["a"]


async def _wait_until(condition: Callable[[], Awaitable[bool]], *, within_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await condition():
        assert loop.time() < deadline, f"timed out after {within_s} s"
        await asyncio.sleep(0.05)


async def _results(store: Store, monitor_id: str, region: str) -> list[CheckResultRow]:
    async with store.sessions() as s:
        rows = await s.scalars(
            select(CheckResultRow)
            .where(
                CheckResultRow.monitor_num == monitor_num(monitor_id),
                CheckResultRow.region == region,
            )
            .order_by(CheckResultRow.checked_at)
        )
        return list(rows)


@pytest.mark.postgres_only
@pytest.mark.parametrize("b_sees", ["127.0.0.1", "127.0.0.2"], ids=["b-sees-up", "b-sees-down"])
async def test_two_region_fleet_opens_only_when_both_see_the_failure(
    store: Store, clock: FrozenClock, b_sees: str
) -> None:
    """Region a's resolver sends app.test where nothing listens; b's resolves it as chosen."""
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    settings = Settings(database_url=store.url)
    async with (
        TinyHTTPServer() as target,
        DnsServer({"app.test.": {"A": ["127.0.0.2"]}}) as dns_a,
        DnsServer({"app.test.": {"A": [b_sees]}}) as dns_b,
    ):
        monitor = await make_monitor(
            store,
            clock,
            org,
            url=f"http://app.test:{target.port}/",
            regions=["a", "b"],
            region_quorum=1,
            failure_threshold=1,
            interval_s=3600,
            timeout_s=2,
            confirm_other_region=True,
        )
        # b has nothing due: it checks only when a's failure asks it to.
        await push_back(store, monitor, "b", clock.now() + timedelta(days=365))
        workers = [
            Worker(
                store,
                settings,
                region=region,
                concurrency=4,
                context=CheckContext(nameservers=(dns.address,)),
                canary_targets=(),
                on_batch=Evaluator(),
            )
            for region, dns in (("a", dns_a), ("b", dns_b))
        ]
        for worker in workers:
            await worker.start()
        try:

            async def b_rechecked() -> bool:
                return len(await _results(store, monitor.id, "b")) >= 1

            await _wait_until(b_rechecked, within_s=20)
        finally:
            for worker in workers:
                await worker.stop()

    a_results = await _results(store, monitor.id, "a")
    b_results = await _results(store, monitor.id, "b")
    assert [r.status for r in a_results] == ["DOWN"]
    found = await incidents(store, monitor.id)
    if b_sees == "127.0.0.1":
        assert {r.status for r in b_results} == {"UP"}
        assert found == []
        assert await outbox(store) == []
    else:
        assert {r.status for r in b_results} == {"DOWN"}
        (incident,) = found
        assert incident.regions == ["a", "b"]
        assert [r.event_type for r in await outbox(store)] == ["monitor.down"]
    # b's check came right after a's failure.
    assert len(b_results) == 1
    assert timedelta(0) < b_results[0].checked_at - a_results[0].checked_at < timedelta(seconds=5)
