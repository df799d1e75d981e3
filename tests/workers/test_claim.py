from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from checks.base import CheckResult
from store.clock import FrozenClock
from store.db import Store
from store.models import Monitor, MonitorSchedule
from store.results import RecordedResult, record_results
from store.schedules import sync_schedules
from tests.workers.seed import add_monitors
from workers.claim import ClaimedRun, claim_due, next_slot, release

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _set_next_run(store: Store, monitor_id: str, when: datetime) -> None:
    async with store.transaction() as s:
        await s.execute(
            update(MonitorSchedule)
            .where(MonitorSchedule.monitor_id == monitor_id)
            .values(next_run_at=when)
        )


async def _schedule(store: Store, monitor_id: str, region: str = "local") -> MonitorSchedule:
    async with store.sessions() as s:
        row = await s.get(MonitorSchedule, (monitor_id, region))
        assert row is not None
        return row


async def _claim(store: Store, now: datetime, *, worker: str = "w1") -> list[ClaimedRun]:
    async with store.transaction() as s:
        return await claim_due(
            s,
            "local",
            worker_id=worker,
            now=now,
            horizon=now + timedelta(seconds=2),
            limit=100,
            skip_locked=store.is_postgres,
        )


@pytest.mark.parametrize(
    ("minutes_late", "expected"),
    [
        pytest.param(0, T0 + timedelta(seconds=60), id="on-time"),
        pytest.param(0.5, T0 + timedelta(seconds=60), id="late-within-slot"),
        pytest.param(5.5, T0 + timedelta(seconds=360), id="missed-five-slots"),
        pytest.param(6, T0 + timedelta(seconds=420), id="exactly-on-a-later-slot"),
    ],
)
def test_next_slot_stays_on_the_grid_and_skips_missed_slots(
    minutes_late: float, expected: datetime
) -> None:
    now = T0 + timedelta(minutes=minutes_late)
    assert next_slot(T0, 60, now=now) == expected


async def test_claim_due_leases_rows_due_within_horizon(store: Store) -> None:
    due, later = await add_monitors(store, 2, url="http://127.0.0.1:9/", now=T0, timeout_s=5)
    await _set_next_run(store, due, T0 + timedelta(seconds=1.5))
    await _set_next_run(store, later, T0 + timedelta(seconds=2.5))

    runs = await _claim(store, T0)

    assert [(r.monitor.id, r.due_at) for r in runs] == [(due, T0 + timedelta(seconds=1.5))]
    assert runs[0].monitor.url == "http://127.0.0.1:9/"
    assert runs[0].monitor.timeout_s == 5
    row = await _schedule(store, due)
    assert row.leased_by == "w1"
    assert row.lease_until == T0 + timedelta(seconds=1.5 + 5 + 5)
    assert row.next_run_at == T0 + timedelta(seconds=61.5)
    assert await _claim(store, T0 + timedelta(seconds=0.1), worker="w2") == []


async def test_claim_due_never_claims_heartbeats_or_paused_monitors(store: Store) -> None:
    (beat,) = await add_monitors(store, 1, url="", now=T0, type="HEARTBEAT")
    (paused,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
    async with store.transaction() as s:
        await s.execute(update(Monitor).where(Monitor.id == paused).values(is_active=False))
        # A leftover row must not run a paused monitor even before sync removes it.
        s.add(MonitorSchedule(monitor_id=beat, region="local", next_run_at=T0))

    assert await _claim(store, T0 + timedelta(minutes=2)) == []


async def test_claim_due_after_missed_slots_runs_once_then_realigns(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0, interval_s=60)
    await _set_next_run(store, mid, T0)
    now = T0 + timedelta(minutes=5, seconds=30)

    runs = await _claim(store, now)
    assert [r.due_at for r in runs] == [T0]
    async with store.transaction() as s:
        # The run finished: its lease is gone.
        await s.execute(update(MonitorSchedule).values(lease_until=None, leased_by=None))

    assert await _claim(store, now + timedelta(seconds=1)) == []
    assert (await _schedule(store, mid)).next_run_at == T0 + timedelta(minutes=6)
    again = await _claim(store, T0 + timedelta(minutes=6))
    assert [r.due_at for r in again] == [T0 + timedelta(minutes=6)]


async def test_claim_due_takes_over_an_expired_lease(store: Store) -> None:
    (mid,) = await add_monitors(
        store, 1, url="http://127.0.0.1:9/", now=T0, interval_s=5, timeout_s=5
    )
    await _set_next_run(store, mid, T0)
    first = await _claim(store, T0, worker="dead")
    assert len(first) == 1

    # The next slot is due, but the dead worker's lease still holds the row.
    assert await _claim(store, T0 + timedelta(seconds=6), worker="w2") == []
    taken = await _claim(store, first[0].lease_until + timedelta(seconds=0.1), worker="w2")
    assert [r.monitor.id for r in taken] == [mid]
    assert (await _schedule(store, mid)).leased_by == "w2"


async def test_claim_due_lease_holds_to_its_last_millisecond(store: Store) -> None:
    (mid,) = await add_monitors(
        store, 1, url="http://127.0.0.1:9/", now=T0, interval_s=5, timeout_s=5
    )
    await _set_next_run(store, mid, T0)
    (held,) = await _claim(store, T0, worker="w1")
    assert held.lease_until == T0 + timedelta(seconds=10)
    # The next slot (T0 + 5 s) is due well before, but the lease holds the row.
    ms = timedelta(milliseconds=1)
    assert await _claim(store, held.lease_until - ms, worker="w2") == []
    assert await _claim(store, held.lease_until, worker="w2") == []
    (taken,) = await _claim(store, held.lease_until + ms, worker="w2")
    assert taken.due_at == T0 + timedelta(seconds=5)  # the slot that waited, run late


async def test_release_hands_the_slot_back_to_the_region(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
    await _set_next_run(store, mid, T0 + timedelta(seconds=1))
    runs = await _claim(store, T0)

    async with store.transaction() as s:
        await release(s, runs, worker_id="w1")

    row = await _schedule(store, mid)
    assert (row.lease_until, row.leased_by) == (None, None)
    again = await _claim(store, T0, worker="w2")
    assert [r.due_at for r in again] == [T0 + timedelta(seconds=1)]


async def test_claim_due_interval_change_applies_from_the_next_run(
    store: Store, clock: FrozenClock
) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0, interval_s=60)
    await _set_next_run(store, mid, T0)
    await _claim(store, T0)
    async with store.transaction() as s:
        await s.execute(
            update(MonitorSchedule).values(lease_until=None, leased_by=None, last_checked_at=T0)
        )
        monitor = await s.get_one(Monitor, mid)
        monitor.interval_s = 10
        await sync_schedules(s, monitor, now=T0 + timedelta(seconds=1))

    runs = await _claim(store, T0 + timedelta(seconds=10))
    assert [r.due_at for r in runs] == [T0 + timedelta(seconds=10)]
    assert runs[0].monitor.interval_s == 10
    assert (await _schedule(store, mid)).next_run_at == T0 + timedelta(seconds=20)


@pytest.mark.postgres_only
async def test_claim_due_concurrent_claimers_get_disjoint_rows(store: Store) -> None:
    ids = await add_monitors(store, 10, url="http://127.0.0.1:9/", now=T0)
    async with store.transaction() as s:
        await s.execute(update(MonitorSchedule).values(next_run_at=T0))
    horizon = T0 + timedelta(seconds=1)

    async with store.transaction() as first, store.transaction() as second:
        a = await claim_due(
            first, "local", worker_id="a", now=T0, horizon=horizon, limit=6, skip_locked=True
        )
        # The first transaction still holds its rows: the second skips them.
        b = await claim_due(
            second, "local", worker_id="b", now=T0, horizon=horizon, limit=6, skip_locked=True
        )

    got_a = {r.monitor.id for r in a}
    got_b = {r.monitor.id for r in b}
    assert (len(got_a), len(got_b)) == (6, 4)
    assert got_a | got_b == set(ids)
    async with store.sessions() as s:
        holders = dict(
            (await s.execute(select(MonitorSchedule.monitor_id, MonitorSchedule.leased_by))).all()
        )
    assert {m for m, w in holders.items() if w == "a"} == got_a


async def test_claim_due_lapsed_lease_runs_its_own_slot_late_from_the_next_ms(
    store: Store,
) -> None:
    # A 300 s interval: the next slot is far off, so only the lapsed one can be run.
    (mid,) = await add_monitors(
        store, 1, url="http://127.0.0.1:9/", now=T0, interval_s=300, timeout_s=5
    )
    await _set_next_run(store, mid, T0)
    (held,) = await _claim(store, T0, worker="dead")
    assert held.lease_until == T0 + timedelta(seconds=5 + 5)  # timeout + margin

    ms = timedelta(milliseconds=1)
    assert await _claim(store, held.lease_until - ms, worker="w2") == []
    assert await _claim(store, held.lease_until, worker="w2") == []
    (late,) = await _claim(store, held.lease_until + ms, worker="w2")
    assert late.due_at == T0  # the slot itself, not the next one
    row = await _schedule(store, mid)
    assert row.leased_by == "w2" and row.next_run_at == T0 + timedelta(seconds=300)


async def test_claim_due_slot_whose_result_is_written_is_not_run_again(store: Store) -> None:
    (mid,) = await add_monitors(
        store, 1, url="http://127.0.0.1:9/", now=T0, interval_s=300, timeout_s=5
    )
    await _set_next_run(store, mid, T0)
    (held,) = await _claim(store, T0, worker="w1")
    item = RecordedResult(
        monitor=held.monitor,
        region="local",
        result=CheckResult(status="UP", checked_at=T0),
        due_at=held.due_at,
        started_at=T0,
        worker_id="w1",
        lease_until=held.lease_until,
    )
    async with store.transaction() as s:
        await record_results(s, [item])
    assert await _claim(store, held.lease_until + timedelta(seconds=1), worker="w2") == []
    row = await _schedule(store, mid)
    assert row.leased_slot_at is None and row.lease_until is None


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_claim_due_carries_the_organizations_trust(store: Store, trusted: bool) -> None:
    (monitor_id,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0, trusted=trusted)
    await _set_next_run(store, monitor_id, T0)

    (run,) = await _claim(store, T0)

    assert run.monitor.trusted is trusted
