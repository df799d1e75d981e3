"""Incident rules the issue tracker asked to pin: what opens, grows, holds and closes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from alerting.housekeeping import send_reminders
from api.main import create_app
from store.base import new_id
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.models import MaintenanceWindow
from store.orgs import create_org
from tests.alerting.helpers import (
    count_active,
    incidents,
    make_channel,
    make_monitor,
    make_org,
    outbox,
    record,
)


@pytest.fixture
async def org_key(store: Store, clock: FrozenClock) -> tuple[str, str]:
    async with store.transaction() as session:
        org, key = await create_org(
            session,
            name="Acme",
            slug="acme",
            plan="ENTERPRISE",
            owner_email="o@a.t",
            now=clock.now(),
            trusted=True,
        )
    return org.id, key


@pytest.fixture
async def client_for_store(store: Store, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(VIGIL_REGIONS="us-east-1"), store=store, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://vigil.test"
    ) as client:
        yield client


async def test_degraded_results_never_open_an_incident(store: Store, clock: FrozenClock) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(store, clock, org, failure_threshold=2)
    for status in ["DEGRADED"] * 5 + ["DOWN", "DEGRADED", "DOWN"]:
        await record(store, clock, monitor, status, error="slow")
        clock.advance(30)
    # A DEGRADED between two DOWNs breaks the streak: still no incident.
    assert await incidents(store, monitor.id) == []
    assert await outbox(store) == []


async def test_faster_retries_stop_once_the_outage_is_confirmed(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    monitor = await make_monitor(
        store, clock, org, interval_s=60, retry_interval_s=15, failure_threshold=3
    )
    planned = []
    for _ in range(5):
        item = await record(store, clock, monitor, "DOWN", error="boom")
        planned.append(None if item.next_run_at is None else item.next_run_at - item.checked_at)
        clock.advance(15)
    # Failures 1 and 2 are checked again after 15 s; from the 3rd (confirmed) the
    # monitor keeps its interval.
    retry = timedelta(seconds=15)
    assert planned == [retry, retry, None, None, None]
    assert await count_active(store, monitor.id) == 1


async def test_incident_regions_grow_when_more_regions_fail(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    regions = ["us-east-1", "eu-west-1", "ap-south-1"]
    monitor = await make_monitor(store, clock, org, regions=regions, region_quorum=1)
    for region in ("us-east-1", "eu-west-1"):
        for _ in range(2):
            await record(store, clock, monitor, "DOWN", region=region, error="boom")
            clock.advance(10)
        (incident,) = await incidents(store, monitor.id)
        if region == "us-east-1":
            assert incident.regions == ["us-east-1"]
    assert incident.regions == ["eu-west-1", "us-east-1"]
    assert [r.event_type for r in await outbox(store)] == ["monitor.down"]


async def _maintenance(store: Store, org: str, clock: FrozenClock, minutes: int) -> None:
    async with store.transaction() as session:
        session.add(
            MaintenanceWindow(
                id=new_id("mw"),
                org_id=org,
                monitor_id=None,
                title="DB upgrade",
                starts_at=clock.now(),
                ends_at=clock.now() + timedelta(minutes=minutes),
                is_active=True,
                created_at=clock.now(),
            )
        )


async def test_reminders_are_held_during_maintenance(store: Store, clock: FrozenClock) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(store, clock, org, reminder_interval_min=10)
    for _ in range(2):
        await record(store, clock, monitor, "DOWN", error="boom")
    clock.advance(5 * 60)
    await _maintenance(store, org, clock, minutes=30)
    ends = clock.now() + timedelta(minutes=30)
    for _ in range(5):  # every 5 min through the window: reminders are due, and held
        clock.advance(5 * 60)
        async with store.transaction() as session:
            assert await send_reminders(session, now=clock.now()) == 0
    clock.set(ends - timedelta(milliseconds=1))
    async with store.transaction() as session:
        assert await send_reminders(session, now=clock.now()) == 0
    clock.set(ends)  # the window is over
    async with store.transaction() as session:
        assert await send_reminders(session, now=clock.now()) == 1
    assert [r.payload["isReminder"] for r in await outbox(store)] == [False, True]


async def test_deleting_a_down_monitor_closes_its_incident_with_the_closing_alert(
    store: Store, clock: FrozenClock, client_for_store: httpx.AsyncClient, org_key: tuple[str, str]
) -> None:
    org, key = org_key
    await make_channel(store, clock, org)
    monitor = await make_monitor(store, clock, org)
    for _ in range(2):
        await record(store, clock, monitor, "DOWN", error="boom")
    clock.advance(120)
    r = await client_for_store.delete(
        f"/api/monitors/{monitor.id}", headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200
    rows = await outbox(store)
    assert [r.event_type for r in rows] == ["monitor.down", "monitor.up"]
    closing = rows[1].payload
    assert closing["details"] == {"closedBecause": "monitor deleted"}
    assert closing["durationS"] == 120
    assert rows[0].event_id != rows[1].event_id
