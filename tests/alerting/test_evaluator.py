"""Incidents open after consecutive failures, resolve on recovery, and queue alerts."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from alerting.housekeeping import purge_expired, release_maintenance_alerts, send_reminders
from api.main import create_app
from store.artifacts import save_artifact
from store.base import new_id
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.models import Artifact, IdempotencyKey, MaintenanceWindow, MonitorSchedule, monitor_num
from store.models import CheckResult as CheckResultRow
from store.orgs import create_org
from tests.alerting.helpers import (
    incidents,
    make_channel,
    make_monitor,
    make_org,
    outbox,
    record,
)


async def test_single_failure_is_a_blip_and_opens_nothing(store: Store, clock: FrozenClock) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(store, clock, org)

    item = await record(store, clock, monitor, "DOWN", error="Connection refused")
    clock.advance(10)
    await record(store, clock, monitor, "UP")

    assert await incidents(store, monitor.id) == []
    assert await outbox(store) == []
    # The failure asked for a quick retry: a third of the 30 s interval, at least 10 s.
    assert item.next_run_at == item.checked_at + timedelta(seconds=10)


async def test_threshold_failures_open_one_incident_and_alert_each_channel(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    hook = await make_channel(store, clock, org)
    slack = await make_channel(
        store, clock, org, type="SLACK", config={"webhookUrl": "http://127.0.0.1:9/s"}
    )
    monitor = await make_monitor(store, clock, org)

    first = clock.now()
    await record(store, clock, monitor, "DOWN", error="Connection refused")
    clock.advance(10)
    await record(store, clock, monitor, "DOWN", error="Connection refused")
    clock.advance(10)
    await record(store, clock, monitor, "DOWN", error="Connection refused")

    (incident,) = await incidents(store, monitor.id)
    assert incident.is_active
    assert incident.started_at == first  # the first failure of the confirming run
    assert incident.cause == "Connection refused"
    assert incident.regions == ["us-east-1"]
    rows = await outbox(store)
    assert sorted(r.channel_id for r in rows) == sorted([hook, slack])
    assert {r.event_type for r in rows} == {"monitor.down"}
    assert len({r.event_id for r in rows}) == 1  # one state change, one event id
    assert rows[0].payload["monitorName"] == "Production API"


async def test_recovery_resolves_and_alerts_once(store: Store, clock: FrozenClock) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(store, clock, org)
    for _ in range(2):
        await record(store, clock, monitor, "DOWN", error="Expected status 200, got 503")
        clock.advance(10)
    clock.advance(50)
    await record(store, clock, monitor, "UP")
    clock.advance(30)
    await record(store, clock, monitor, "UP")

    (incident,) = await incidents(store, monitor.id)
    assert not incident.is_active
    assert incident.resolved_at is not None
    assert (incident.resolved_at - incident.started_at) == timedelta(seconds=70)
    ups = [r for r in await outbox(store) if r.event_type == "monitor.up"]
    assert len(ups) == 1
    assert ups[0].payload["durationS"] == 70


async def test_recovery_threshold_needs_consecutive_successes(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    monitor = await make_monitor(store, clock, org, recovery_threshold=3)
    for status in ["DOWN", "DOWN", "UP", "UP"]:
        await record(store, clock, monitor, status, error="boom")
        clock.advance(30)
    assert (await incidents(store, monitor.id))[0].is_active
    await record(store, clock, monitor, "UP")
    assert not (await incidents(store, monitor.id))[0].is_active


async def test_quorum_two_of_three_opens_only_when_two_regions_fail(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    regions = ["us-east-1", "eu-west-1", "ap-south-1"]
    monitor = await make_monitor(store, clock, org, regions=regions, region_quorum=2)

    for _ in range(3):
        await record(store, clock, monitor, "DOWN", region="us-east-1", error="Timeout")
        await record(store, clock, monitor, "UP", region="eu-west-1")
        await record(store, clock, monitor, "UP", region="ap-south-1")
        clock.advance(30)
    assert await incidents(store, monitor.id) == []

    await record(store, clock, monitor, "DOWN", region="eu-west-1", error="Timeout")
    assert await incidents(store, monitor.id) == []
    clock.advance(10)
    await record(store, clock, monitor, "DOWN", region="eu-west-1", error="Timeout")
    (incident,) = await incidents(store, monitor.id)
    assert incident.regions == ["eu-west-1", "us-east-1"]


async def test_maintenance_withholds_alert_until_window_ends(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(store, clock, org)
    async with store.transaction() as session:
        session.add(
            MaintenanceWindow(
                id=new_id("mw"),
                org_id=org,
                monitor_id=None,
                title="DB upgrade",
                starts_at=clock.now() - timedelta(minutes=1),
                ends_at=clock.now() + timedelta(minutes=30),
                is_active=True,
                created_at=clock.now(),
            )
        )
    for _ in range(2):
        await record(store, clock, monitor, "DOWN", error="Connection refused")
        clock.advance(10)
    (incident,) = await incidents(store, monitor.id)
    assert incident.is_active and incident.in_maintenance
    assert await outbox(store) == []
    async with store.transaction() as session:
        assert await release_maintenance_alerts(session, now=clock.now()) == 0

    clock.advance(30 * 60)
    async with store.transaction() as session:
        assert await release_maintenance_alerts(session, now=clock.now()) == 1
    async with store.transaction() as session:
        assert await release_maintenance_alerts(session, now=clock.now()) == 0
    assert [r.event_type for r in await outbox(store)] == ["monitor.down"]


async def test_incident_opened_and_closed_in_maintenance_sends_nothing(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(store, clock, org)
    async with store.transaction() as session:
        session.add(
            MaintenanceWindow(
                id=new_id("mw"),
                org_id=org,
                monitor_id=monitor.id,
                title="Deploy",
                starts_at=clock.now(),
                ends_at=clock.now() + timedelta(minutes=10),
                is_active=True,
                created_at=clock.now(),
            )
        )
    for status in ["DOWN", "DOWN", "UP"]:
        await record(store, clock, monitor, status, error="boom")
        clock.advance(10)
    assert not (await incidents(store, monitor.id))[0].is_active
    assert await outbox(store) == []


async def test_reminders_repeat_while_down(store: Store, clock: FrozenClock) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(store, clock, org, reminder_interval_min=15)
    for _ in range(2):
        await record(store, clock, monitor, "DOWN", error="boom")
        clock.advance(10)
    async with store.transaction() as session:
        assert await send_reminders(session, now=clock.now()) == 0
    clock.advance(15 * 60)
    async with store.transaction() as session:
        assert await send_reminders(session, now=clock.now()) == 1
    async with store.transaction() as session:
        assert await send_reminders(session, now=clock.now()) == 0
    rows = await outbox(store)
    assert [r.payload["isReminder"] for r in rows] == [False, True]


async def test_region_failure_retries_at_retry_interval(store: Store, clock: FrozenClock) -> None:
    org = await make_org(store, clock)
    monitor = await make_monitor(store, clock, org, interval_s=60, retry_interval_s=15)
    await record(store, clock, monitor, "DOWN", error="boom")
    async with store.transaction() as session:
        row = await session.scalar(
            select(MonitorSchedule).where(MonitorSchedule.monitor_id == monitor.id)
        )
    assert row is not None
    assert row.next_run_at == clock.now() + timedelta(seconds=15)


async def test_largest_recovery_threshold_still_resolves_after_steady_skipping(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    monitor = await make_monitor(store, clock, org, recovery_threshold=10)
    for status in ["DOWN", "DOWN"] + ["UP"] * 9:
        await record(store, clock, monitor, status, error="boom")
        clock.advance(30)
    assert (await incidents(store, monitor.id))[0].is_active
    await record(store, clock, monitor, "UP")
    assert not (await incidents(store, monitor.id))[0].is_active
    for _ in range(12):  # a long steady run: evaluation is skipped, nothing changes
        clock.advance(30)
        await record(store, clock, monitor, "UP")
    assert len(await incidents(store, monitor.id)) == 1


async def test_pausing_a_down_monitor_closes_its_incident_and_tells_those_paged(
    store: Store, clock: FrozenClock
) -> None:
    async with store.transaction() as session:
        org, key = await create_org(
            session,
            name="P",
            slug="paused",
            plan="ENTERPRISE",
            owner_email="p@p.t",
            now=clock.now(),
            trusted=True,
        )
    await make_channel(store, clock, org.id)
    monitor = await make_monitor(store, clock, org.id, reminder_interval_min=5)
    for _ in range(2):
        await record(store, clock, monitor, "DOWN", error="Connection refused")
        clock.advance(10)
    app = create_app(Settings(), store=store, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post(
            f"/api/monitors/{monitor.id}/pause", headers={"Authorization": f"Bearer {key}"}
        )
    assert r.status_code == 200
    (incident,) = await incidents(store, monitor.id)
    assert not incident.is_active and incident.resolved_at == clock.now()
    rows = await outbox(store)
    assert [r.event_type for r in rows] == ["monitor.down", "monitor.up"]
    assert rows[1].payload["details"] == {"closedBecause": "monitor paused"}
    clock.advance(3600)
    async with store.transaction() as session:
        assert await send_reminders(session, now=clock.now()) == 0


async def test_results_with_nul_characters_are_written(store: Store, clock: FrozenClock) -> None:
    # PostgreSQL refuses NUL in text and JSON; one binary banner must not block a batch.
    org = await make_org(store, clock)
    monitor = await make_monitor(store, clock, org, type="TCP", url="tcp://127.0.0.1:9")
    await record(
        store,
        clock,
        monitor,
        "DOWN",
        error="Expected 'OK', got 'x\x00y'",
        details={"reply": "x\x00y", "list": ["\x00"]},
    )
    async with store.transaction() as session:
        row = await session.scalar(
            select(CheckResultRow).where(CheckResultRow.monitor_num == monitor_num(monitor.id))
        )
    assert row is not None
    assert row.error == "Expected 'OK', got 'x\ufffdy'"
    assert row.details == {"reply": "x\ufffdy", "list": ["\ufffd"]}


async def test_expired_idempotency_keys_and_old_screenshots_are_purged(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    monitor = await make_monitor(store, clock, org)
    old = await save_artifact(
        store, monitor_id=monitor.id, name="a.png", data=b"x", now=clock.now()
    )
    async with store.transaction() as session:
        session.add(
            IdempotencyKey(api_key_id="key_1", key="k", request_hash="h", created_at=clock.now())
        )
    clock.advance(25 * 3600)
    new = await save_artifact(
        store, monitor_id=monitor.id, name="b.png", data=b"y", now=clock.now()
    )
    async with store.transaction() as session:
        assert await purge_expired(session, now=clock.now()) == (1, 0)
    clock.advance(30 * 86400 - 25 * 3600 + 1)
    async with store.transaction() as session:
        assert await purge_expired(session, now=clock.now()) == (0, 1)
        left = list(await session.scalars(select(Artifact.id)))
    assert left == [new] and old != new


async def test_alert_shows_the_monitor_url_with_its_credentials_masked(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    url = "https://bot:hunter2hunter2@api.example.com/health?token=tok-0123456789"
    monitor = await make_monitor(store, clock, org, url=url)
    for _ in range(2):
        await record(store, clock, monitor, "DOWN", error="Connection refused")
        clock.advance(10)
    (row,) = await outbox(store)
    assert row.payload["monitorUrl"] == (
        "https://bot:\u2026ter2@api.example.com/health?token=\u20266789"
    )
