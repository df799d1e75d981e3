"""Flapping: one alert when a monitor starts flapping, one when it is stable again."""

from __future__ import annotations

from datetime import datetime, timedelta

from alerting.flapping import DEFAULT_THRESHOLD, DEFAULT_WINDOW_S, release_stable
from alerting.housekeeping import release_maintenance_alerts
from store.clock import FrozenClock
from store.db import Store
from store.models import Monitor
from tests.alerting.helpers import incidents, make_channel, make_monitor, make_org, outbox, record

WINDOW_S = 600


async def flap(store: Store, clock: FrozenClock, monitor: Monitor, times: int) -> None:
    """``times`` outages of 30 s each, 30 s apart: two state changes per outage."""
    for _ in range(times):
        await record(store, clock, monitor, "DOWN", error="Connection refused")
        clock.advance(30)
        await record(store, clock, monitor, "UP")
        clock.advance(30)


async def stable(store: Store, now: datetime) -> int:
    async with store.transaction() as session:
        return await release_stable(session, now=now)


async def test_flapping_target_gives_one_flapping_and_one_stable_alert(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(
        store, clock, org, failure_threshold=1, flap_threshold=4, flap_window_s=WINDOW_S
    )
    start = clock.now()

    await flap(store, clock, monitor, 4)  # 8 state changes within 4 minutes
    last_change = start + timedelta(seconds=3 * 60 + 30)

    events = [(r.event_type, r.payload) for r in await outbox(store, monitor.id)]
    # Changes 1-4 are paged; the 5th (> 4) makes it FLAPPING; 6-8 are recorded only.
    assert [t for t, _ in events] == [
        "monitor.down",
        "monitor.up",
        "monitor.down",
        "monitor.up",
        "monitor.flapping",
    ]
    flapping = events[-1][1]
    assert flapping["details"] == {"changes": 5, "windowS": WINDOW_S, "threshold": 4}
    assert flapping["cause"] == (
        "5 state changes within 10 min: further changes are recorded but not paged "
        "until it has been stable for 10 min"
    )
    assert flapping["occurredAt"] == (start + timedelta(seconds=120)).isoformat()

    # Incidents stay exact: every outage is one incident of exactly 30 s.
    rows = await incidents(store, monitor.id)
    assert [(i.started_at - start).total_seconds() for i in rows] == [0, 60, 120, 180]
    assert all(i.resolved_at is not None for i in rows)
    assert [(i.resolved_at or start) - i.started_at for i in rows] == [timedelta(seconds=30)] * 4
    assert [i.flapping for i in rows] == [False, False, True, True]
    assert [i.down_alerted_at is not None for i in rows] == [True, True, False, False]

    # Stable only once a whole window has passed without a change, and only once.
    assert await stable(store, last_change + timedelta(seconds=WINDOW_S - 1)) == 0
    assert await stable(store, last_change + timedelta(seconds=WINDOW_S)) == 1
    assert await stable(store, last_change + timedelta(seconds=WINDOW_S + 60)) == 0
    events = [(r.event_type, r.payload) for r in await outbox(store, monitor.id)]
    assert [t for t, _ in events].count("monitor.flapping") == 1
    assert [t for t, _ in events].count("monitor.stable") == 1
    stable_event = events[-1][1]
    assert stable_event["type"] == "monitor.stable"
    assert stable_event["details"]["state"] == "UP"
    assert stable_event["details"]["stableForS"] == WINDOW_S
    assert stable_event["cause"] == "No state change for 10 min; it is UP now"

    # Paging is back: the next outage alerts as usual.
    clock.set(last_change + timedelta(seconds=WINDOW_S + 120))
    await record(store, clock, monitor, "DOWN", error="Connection refused")
    assert (await outbox(store, monitor.id))[-1].event_type == "monitor.down"


async def test_changes_at_the_threshold_do_not_flap(store: Store, clock: FrozenClock) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(store, clock, org, failure_threshold=1)

    # The defaults: more than DEFAULT_THRESHOLD changes within DEFAULT_WINDOW_S.
    assert DEFAULT_WINDOW_S > 4 * 60
    await flap(store, clock, monitor, DEFAULT_THRESHOLD // 2)

    types = [r.event_type for r in await outbox(store, monitor.id)]
    assert types == ["monitor.down", "monitor.up"] * (DEFAULT_THRESHOLD // 2)


async def test_changes_spread_beyond_the_window_do_not_flap(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(
        store, clock, org, failure_threshold=1, flap_threshold=2, flap_window_s=100
    )
    for _ in range(3):  # a change every 60 s: never more than 2 within 100 s
        await record(store, clock, monitor, "DOWN", error="boom")
        clock.advance(60)
        await record(store, clock, monitor, "UP")
        clock.advance(60)

    types = [r.event_type for r in await outbox(store, monitor.id)]
    assert "monitor.flapping" not in types
    assert len(types) == 6


async def test_stable_while_down_says_so_and_pages_the_recovery(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(
        store, clock, org, failure_threshold=1, flap_threshold=2, flap_window_s=WINDOW_S
    )
    await flap(store, clock, monitor, 1)
    await record(store, clock, monitor, "DOWN", error="Connection refused")  # 3rd: flapping
    down_since = clock.now()

    # Held back because the monitor flaps, not because of maintenance.
    async with store.transaction() as session:
        assert await release_maintenance_alerts(session, now=down_since) == 0
    assert await stable(store, down_since + timedelta(seconds=WINDOW_S)) == 1
    (*_, event) = await outbox(store, monitor.id)
    assert event.event_type == "monitor.stable"
    assert event.payload["details"]["state"] == "DOWN"
    assert event.payload["cause"] == "No state change for 10 min; it is DOWN now"

    clock.set(down_since + timedelta(seconds=WINDOW_S + 30))
    await record(store, clock, monitor, "UP")
    types = [r.event_type for r in await outbox(store, monitor.id)]
    assert types == [
        "monitor.down",
        "monitor.up",
        "monitor.flapping",
        "monitor.stable",
        "monitor.up",
    ]
