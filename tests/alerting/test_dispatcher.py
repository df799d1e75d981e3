"""The dispatcher delivers every queued alert, retries failures, and survives SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from alerting.channels.base import AlertEvent
from alerting.channels.webhook import verify_signature
from alerting.dispatcher import Dispatcher, RetryPolicy
from alerting.outbox import enqueue
from store.clock import FrozenClock, utc
from store.config import Settings
from store.db import Store
from store.models import AlertAttempt, AlertOutbox, Incident
from tests.alerting.helpers import make_channel, make_monitor, make_org
from tests.servers.receivers import HttpReceiver, Reply

SECRET = "whsec_test"


async def _queue_down_alert(store: Store, clock: FrozenClock, url: str) -> str:
    org = await make_org(store, clock)
    channel = await make_channel(store, clock, org, config={"url": url, "secret": SECRET})
    monitor = await make_monitor(store, clock, org)
    event = AlertEvent(
        id="evt_outage1",
        type="monitor.down",
        monitor_id=monitor.id,
        monitor_name=monitor.name,
        monitor_url=monitor.url,
        occurred_at=clock.now(),
        cause="Connection refused",
        regions=("us-east-1",),
        started_at=clock.now(),
    )
    async with store.transaction() as session:
        await enqueue(session, event, org_id=org, channel_ids=[channel], now=clock.now())
    return channel


async def _rows(store: Store) -> tuple[list[AlertOutbox], list[AlertAttempt]]:
    async with store.transaction() as session:
        rows = list(await session.scalars(select(AlertOutbox)))
        attempts = list(await session.scalars(select(AlertAttempt).order_by(AlertAttempt.id)))
    return rows, attempts


async def test_receiver_down_for_three_attempts_gets_the_alert_once(
    store: Store, clock: FrozenClock
) -> None:
    async with HttpReceiver(replies=[503, 503, 503], default=200) as hooks:
        await _queue_down_alert(store, clock, hooks.url_for("/hook"))
        dispatcher = Dispatcher(store, Settings(), clock=clock, policy=RetryPolicy(base_s=5))
        for _ in range(10):
            await dispatcher.run_once()
            clock.advance(60)  # past any backoff (5 s doubling, with jitter, 4 tries)
        got = await hooks.wait_for(4)

    (row,), attempts = await _rows(store)
    assert row.status == "delivered" and row.attempts == 4
    assert [a.ok for a in attempts] == [False, False, False, True]
    assert all("503" in (a.error or "") for a in attempts[:3])
    assert len(hooks.requests) == 4  # nothing after the success
    assert {r.header("X-Event-Id") for r in got} == {"evt_outage1"}
    last = got[-1]
    assert verify_signature(
        SECRET,
        last.header("X-Signature-Timestamp") or "",
        last.body,
        last.header("X-Signature") or "",
    )


# The default schedule, written out: 10 s doubling, capped at 900 s (15 min).
DEFAULT_WAITS_S = [10, 20, 40, 80, 160, 320, 640, 900, 900, 900]


def test_backoff_doubles_from_ten_seconds_and_caps_at_fifteen_minutes() -> None:
    policy = RetryPolicy()
    assert [policy.nominal_s(n) for n in range(1, 11)] == DEFAULT_WAITS_S
    assert policy.nominal_s(60) == 900
    for n, wait in enumerate(DEFAULT_WAITS_S, start=1):
        # Jitter is +-20 %: the two ends and the middle of the range.
        assert policy.delay_s(n, u=0.0) == pytest.approx(wait * 0.8)
        assert policy.delay_s(n, u=0.5) == pytest.approx(wait)
        assert policy.delay_s(n, u=1.0) == pytest.approx(wait * 1.2)
    assert policy.window_s == 24 * 3600


async def _deliver_when_due(
    dispatcher: Dispatcher, store: Store, clock: FrozenClock
) -> list[datetime]:
    """Step the clock to each next attempt (never past it); the times attempts ran."""
    ran: list[datetime] = []
    for _ in range(200):
        (row,), _ = await _rows(store)
        if row.status != "pending":
            return ran
        due = utc(row.next_attempt_at)
        clock.set(due - timedelta(milliseconds=1))
        assert await dispatcher.run_once() == 0, "attempted before its next attempt time"
        clock.set(due)
        assert await dispatcher.run_once() == 1
        ran.append(clock.now())
    raise AssertionError(f"still retrying after {len(ran)} attempts")


async def test_retries_follow_the_schedule_for_the_window_then_dead_letter(
    store: Store, clock: FrozenClock
) -> None:
    start = clock.now()
    async with HttpReceiver(default=503) as hooks:
        await _queue_down_alert(store, clock, hooks.url_for("/hook"))
        policy = RetryPolicy(base_s=1, cap_s=4, window_s=20, jitter=0)
        dispatcher = Dispatcher(store, Settings(), clock=clock, policy=policy)
        ran = await _deliver_when_due(dispatcher, store, clock)
        await hooks.wait_for(8)
    # Waits 1, 2, 4, 4 (the cap), 4, 4, then the window's end at 20 s; then no more.
    assert [(t - start).total_seconds() for t in ran] == [0, 1, 3, 7, 11, 15, 19, 20]
    (row,), attempts = await _rows(store)
    assert row.status == "failed" and row.attempts == 8 and len(attempts) == 8
    assert utc(row.failed_at) == start + timedelta(seconds=20)
    assert [a.outcome for a in attempts] == ["failed"] * 8
    assert "503" in (row.last_error or "")
    assert len(hooks.requests) == 8


async def test_permanent_rejection_is_not_retried(store: Store, clock: FrozenClock) -> None:
    async with HttpReceiver(default=400) as hooks:
        await _queue_down_alert(store, clock, hooks.url_for("/hook"))
        dispatcher = Dispatcher(store, Settings(), clock=clock)
        for _ in range(3):
            await dispatcher.run_once()
            clock.advance(3600)
    (row,), attempts = await _rows(store)
    assert row.status == "failed" and len(attempts) == 1


def _spawn_dispatcher(database_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_DISPATCH_LEASE_S": "2",
        "VIGIL_ALERT_RETRY_BASE_S": "0.2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "dispatcher"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _until(predicate: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_dispatcher_killed_mid_delivery_delivers_after_restart(
    store: Store, clock: FrozenClock, database_url: str
) -> None:
    async with HttpReceiver(replies=[Reply(hang=True)], default=200) as hooks:
        await _queue_down_alert(store, clock, hooks.url_for("/hook"))
        first = _spawn_dispatcher(database_url)
        try:
            await hooks.wait_for(1, timeout=20)  # the delivery is in flight, unanswered
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        (row,), _ = await _rows(store)
        assert row.status == "pending"  # nothing was lost with the process

        second = _spawn_dispatcher(database_url)
        try:
            got = await hooks.wait_for(2, timeout=30)

            async def delivered() -> bool:
                (r,), _ = await _rows(store)
                return r.status == "delivered"

            await _until(delivered, within=10, what="the outbox row to be marked delivered")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=15) == 0
    assert got[0].header("X-Event-Id") == got[1].header("X-Event-Id") == "evt_outage1"


async def test_recovery_waits_for_its_down_alert_to_be_delivered(
    store: Store, clock: FrozenClock
) -> None:
    async with HttpReceiver(replies=[503], default=200) as hooks:
        org = await make_org(store, clock)
        channel = await make_channel(
            store, clock, org, config={"url": hooks.url_for("/hook"), "secret": SECRET}
        )
        monitor = await make_monitor(store, clock, org)
        async with store.transaction() as session:
            session.add(
                Incident(
                    id="inc_1",
                    org_id=org,
                    monitor_id=monitor.id,
                    started_at=clock.now(),
                    regions=["us-east-1"],
                    is_active=False,
                    resolved_at=clock.now(),
                )
            )
        for kind in ("monitor.down", "monitor.up"):
            event = AlertEvent(
                id=f"evt_{kind}",
                type=kind,  # type: ignore[arg-type]
                monitor_id=monitor.id,
                monitor_name=monitor.name,
                monitor_url=monitor.url,
                occurred_at=clock.now(),
                incident_id="inc_1",
                started_at=clock.now(),
            )
            async with store.transaction() as session:
                await enqueue(session, event, org_id=org, channel_ids=[channel], now=clock.now())
            clock.advance(1)
        dispatcher = Dispatcher(store, Settings(), clock=clock, policy=RetryPolicy(base_s=5))
        for _ in range(4):
            await dispatcher.run_once()
            clock.advance(30)
        got = await hooks.wait_for(3)
    assert [r.json()["type"] for r in got] == ["monitor.down", "monitor.down", "monitor.up"]


async def test_stalled_delivery_is_taken_over_only_after_its_lease(
    store: Store, clock: FrozenClock
) -> None:
    async with HttpReceiver(default=200) as hooks:
        await _queue_down_alert(store, clock, hooks.url_for("/hook"))
        stalled = Dispatcher(store, Settings(), clock=clock, lease_s=15)
        peer = Dispatcher(store, Settings(), clock=clock, lease_s=15)
        (held,) = await stalled.claim()  # claimed, then never finishes (a dead process)
        leased_at = clock.now()
        _, attempts = await _rows(store)
        assert [a.outcome for a in attempts] == ["in_flight"]  # recorded when it starts

        clock.set(leased_at + timedelta(seconds=15))  # the lease's last instant
        assert await peer.claim() == []
        clock.set(leased_at + timedelta(seconds=15, milliseconds=1))
        assert await peer.run_once() == 1
        (got,) = await hooks.wait_for(1)
        _, attempts = await _rows(store)
        assert [a.outcome for a in attempts] == ["interrupted", "delivered"]
        assert "stopped before the channel answered" in (attempts[0].error or "")
        # The stalled dispatcher wakes up late: its attempt keeps what really
        # happened, but it cannot touch the row the peer now owns.
        await stalled.deliver(held)
        await hooks.wait_for(2)

    (row,), attempts = await _rows(store)
    assert row.status == "delivered" and row.attempts == 1
    assert [a.outcome for a in attempts] == ["delivered", "delivered"]
    assert got.header("X-Event-Id") == "evt_outage1"


@pytest.mark.postgres_only
async def test_two_dispatchers_share_the_outbox_with_one_attempt_in_flight_per_row(
    store: Store, clock: FrozenClock
) -> None:
    async with HttpReceiver(default=Reply(status=200)) as hooks:
        org = await make_org(store, clock)
        channels = [
            await make_channel(
                store, clock, org, config={"url": hooks.url_for(f"/{i}"), "secret": SECRET}
            )
            for i in range(5)
        ]
        monitor = await make_monitor(store, clock, org)
        for n in range(8):
            event = AlertEvent(
                id=f"evt_{n}",
                type="monitor.down",
                monitor_id=monitor.id,
                monitor_name=monitor.name,
                monitor_url=monitor.url,
                occurred_at=clock.now(),
            )
            async with store.transaction() as session:
                await enqueue(session, event, org_id=org, channel_ids=channels, now=clock.now())
        first = Dispatcher(store, Settings(), clock=clock, batch=3)
        second = Dispatcher(store, Settings(), clock=clock, batch=3)
        claims = await asyncio.gather(*(d.claim() for d in (first, second) for _ in range(4)))
        got = [c.row_id for batch in claims for c in batch]
        assert len(got) == len(set(got)), "a row was claimed twice"
        rows, attempts = await _rows(store)
        in_flight = [a.outbox_id for a in attempts if a.outcome == "in_flight"]
        assert sorted(in_flight) == sorted(got) and len(set(in_flight)) == len(in_flight)
        await asyncio.gather(*(first.deliver(c) for batch in claims for c in batch))
        while await first.run_once() + await second.run_once():
            pass
        received = await hooks.wait_for(40)
    rows, attempts = await _rows(store)
    assert {r.status for r in rows} == {"delivered"} and len(rows) == 40
    assert len(attempts) == 40
    assert len({(r.path, r.header("X-Event-Id")) for r in received}) == 40
