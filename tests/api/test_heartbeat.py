"""Heartbeat monitors: pings, missed deadlines, cron schedules, /start, /fail, exit codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from alerting.heartbeats import sweep_missed
from store.clock import FrozenClock
from store.db import Store
from store.heartbeats import HEARTBEAT_REGION
from store.models import AlertOutbox, Incident, MonitorSchedule
from store.rollups import DAILY, HOURLY
from tests.alerting.helpers import make_channel
from tests.api.conftest import Tenant


async def _create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"name": "Nightly backup", "type": "HEARTBEAT", "interval": 3600, **fields}
    r = await client.post("/api/monitors", headers=tenant.headers, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


async def _incidents(store: Store, monitor_id: str) -> list[Incident]:
    async with store.transaction() as session:
        return list(
            await session.scalars(select(Incident).where(Incident.monitor_id == monitor_id))
        )


async def _alerts(store: Store) -> list[tuple[str, str]]:
    async with store.transaction() as session:
        rows = await session.scalars(select(AlertOutbox).order_by(AlertOutbox.created_at))
        return [(r.event_type, r.payload.get("cause") or "") for r in rows]


async def _deadline(store: Store, monitor_id: str) -> datetime:
    async with store.transaction() as session:
        row = await session.get(MonitorSchedule, (monitor_id, HEARTBEAT_REGION))
    assert row is not None
    return row.next_run_at


async def test_heartbeat_create_returns_token_and_url(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    data = await _create(client, tenant, config={"grace": 300})
    token = data["heartbeatToken"]
    assert token.startswith("hb_") and len(token) >= 32
    assert data["heartbeatUrl"] == f"http://127.0.0.1:8080/api/heartbeat/{token}"
    assert data["failureThreshold"] == 1


async def test_on_time_pings_keep_it_up_and_are_listed_as_checks(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    hb = await _create(client, tenant, config={"grace": 300})
    for _ in range(3):
        clock.advance(3500)
        r = await client.post(f"/api/heartbeat/{hb['heartbeatToken']}", content=b"backup ok\n")
        assert r.status_code == 200 and r.json() == {"ok": True}
        assert await sweep_missed(store, clock=clock) == 0
    checks = (await client.get(f"/api/monitors/{hb['id']}/checks", headers=tenant.headers)).json()
    assert [c["status"] for c in checks["data"]] == ["UP", "UP", "UP"]
    assert checks["data"][0]["details"]["log"] == "backup ok\n"
    assert checks["data"][0]["region"] == "heartbeat"
    assert await _incidents(store, hb["id"]) == []


async def test_missed_deadline_opens_one_incident_and_one_alert_then_ping_resolves(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    await make_channel(store, clock, tenant.org_id)
    created = clock.now()
    hb = await _create(client, tenant, config={"grace": 300})
    token = hb["heartbeatToken"]

    clock.advance(3600 + 299)
    assert await sweep_missed(store, clock=clock) == 0  # still within grace
    clock.advance(2)
    assert await sweep_missed(store, clock=clock) == 1
    clock.advance(60)
    assert await sweep_missed(store, clock=clock) == 0  # the next deadline is an hour on

    (incident,) = await _incidents(store, hb["id"])
    assert incident.is_active
    expected = (created + timedelta(seconds=3600)).strftime("%Y-%m-%d %H:%M:%S")
    assert incident.cause == (
        f"No ping received since the monitor was created at "
        f"{created.strftime('%Y-%m-%d %H:%M:%S')} UTC; expected by {expected} UTC"
    )
    assert await _alerts(store) == [("heartbeat.missed", incident.cause)]

    clock.advance(3600 + 400)  # silent for another period: still one incident, one alert
    assert await sweep_missed(store, clock=clock) == 1
    assert len(await _incidents(store, hb["id"])) == 1
    assert len(await _alerts(store)) == 1

    assert (await client.get(f"/api/heartbeat/{token}")).status_code == 200
    (incident,) = await _incidents(store, hb["id"])
    assert not incident.is_active
    assert [t for t, _ in await _alerts(store)] == ["heartbeat.missed", "monitor.up"]


async def test_cron_schedule_in_a_time_zone_across_dst(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    # Europe/Berlin moves to summer time on 2026-03-29: 09:00 local is 08:00 UTC
    # before and 07:00 UTC after.
    clock.set(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    hb = await _create(
        client, tenant, config={"cron": "0 9 * * *", "timezone": "Europe/Berlin", "grace": 600}
    )
    assert await _deadline(store, hb["id"]) == datetime(2026, 3, 28, 8, 10, tzinfo=UTC)
    clock.set(datetime(2026, 3, 28, 8, 1, tzinfo=UTC))
    assert (await client.post(f"/api/heartbeat/{hb['heartbeatToken']}")).status_code == 200
    assert await _deadline(store, hb["id"]) == datetime(2026, 3, 29, 7, 10, tzinfo=UTC)
    clock.set(datetime(2026, 3, 29, 7, 9, tzinfo=UTC))
    assert await sweep_missed(store, clock=clock) == 0
    clock.set(datetime(2026, 3, 29, 7, 11, tzinfo=UTC))
    assert await sweep_missed(store, clock=clock) == 1


async def test_start_then_success_records_the_run_duration(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    hb = await _create(client, tenant)
    token = hb["heartbeatToken"]
    assert (await client.get(f"/api/heartbeat/{token}/start")).json() == {"ok": True}
    clock.advance(42.5)
    assert (await client.get(f"/api/heartbeat/{token}")).status_code == 200
    (check,) = (
        await client.get(f"/api/monitors/{hb['id']}/checks", headers=tenant.headers)
    ).json()["data"]
    assert check["details"]["durationMs"] == 42500.0
    assert check["responseTime"] == 42500


async def test_fail_and_nonzero_exit_status_fail_at_once(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    hb = await _create(client, tenant)
    token = hb["heartbeatToken"]
    assert (
        await client.post(f"/api/heartbeat/{token}/fail", content=b"disk full")
    ).status_code == 200
    (incident,) = await _incidents(store, hb["id"])
    assert incident.is_active and incident.cause == "The job reported failure (/fail)"

    assert (await client.get(f"/api/heartbeat/{token}/0")).status_code == 200
    assert not (await _incidents(store, hb["id"]))[0].is_active

    assert (await client.get(f"/api/heartbeat/{token}/1")).status_code == 200
    active = [i for i in await _incidents(store, hb["id"]) if i.is_active]
    assert [i.cause for i in active] == ["The job reported failure (exit status 1)"]


async def test_unknown_token_is_404_and_reveals_nothing(client: httpx.AsyncClient) -> None:
    for path in (
        "/api/heartbeat/hb_nope",
        "/api/heartbeat/hb_nope/fail",
        "/api/heartbeat/hb_nope/3",
    ):
        r = await client.get(path)
        assert r.status_code == 404
        assert r.json()["error"] == "Heartbeat not found"
        assert r.json()["code"] == "heartbeat_not_found"
        assert set(r.json()) == {"error", "code", "requestId"}
    r = await client.get("/api/heartbeat/hb_nope/256")
    assert r.status_code == 404
    assert r.json()["code"] == "endpoint_not_found"


async def test_paused_heartbeat_ignores_pings_and_never_alerts(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    hb = await _create(client, tenant)
    r = await client.post(f"/api/monitors/{hb['id']}/pause", headers=tenant.headers)
    assert r.status_code == 200
    r = await client.get(f"/api/heartbeat/{hb['heartbeatToken']}/fail")
    assert r.json() == {"ok": True, "paused": True}
    clock.advance(10 * 3600)
    assert await sweep_missed(store, clock=clock) == 0
    assert await _incidents(store, hb["id"]) == []
    checks = (await client.get(f"/api/monitors/{hb['id']}/checks", headers=tenant.headers)).json()
    assert checks["data"] == []


async def test_ping_log_keeps_at_most_10_kb(client: httpx.AsyncClient, tenant: Tenant) -> None:
    hb = await _create(client, tenant)
    await client.post(f"/api/heartbeat/{hb['heartbeatToken']}", content=b"x" * 20000)
    (check,) = (
        await client.get(f"/api/monitors/{hb['id']}/checks", headers=tenant.headers)
    ).json()["data"]
    assert len(check["details"]["log"]) == 10240 and check["details"]["logTruncated"] is True


async def test_heartbeat_config_is_validated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={
            "name": "x",
            "type": "HEARTBEAT",
            "config": {"cron": "61 * * * *", "timezone": "Mars/Base"},
        },
    )
    assert r.status_code == 400
    fields = {f["field"] for f in r.json()["fields"]}
    assert fields == {"config.cron", "config.timezone"}


async def test_recovery_threshold_above_one_is_honoured_by_steady_pings(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    hb = await _create(client, tenant, recoveryThreshold=2, config={"grace": 60})
    token = hb["heartbeatToken"]
    assert (await client.get(f"/api/heartbeat/{token}")).status_code == 200  # warm the cache
    clock.advance(3600 + 61)
    assert await sweep_missed(store, clock=clock) == 1
    assert (await _incidents(store, hb["id"]))[0].is_active
    await client.get(f"/api/heartbeat/{token}")
    assert (await _incidents(store, hb["id"]))[0].is_active  # one success of two
    await client.get(f"/api/heartbeat/{token}")
    assert not (await _incidents(store, hb["id"]))[0].is_active


async def test_ping_log_with_nul_bytes_is_kept(client: httpx.AsyncClient, tenant: Tenant) -> None:
    hb = await _create(client, tenant)
    r = await client.post(f"/api/heartbeat/{hb['heartbeatToken']}/fail", content=b"bad\x00byte")
    assert r.status_code == 200
    (check,) = (
        await client.get(f"/api/monitors/{hb['id']}/checks", headers=tenant.headers)
    ).json()["data"]
    assert check["details"]["log"] == "bad\ufffdbyte"


async def test_repeated_misses_count_from_the_last_real_ping(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    hb = await _create(client, tenant, config={"grace": 60})
    pinged = clock.now()
    await client.get(f"/api/heartbeat/{hb['heartbeatToken']}")
    for _ in range(2):
        clock.advance(3600 + 61)
        assert await sweep_missed(store, clock=clock) == 1
    checks = (await client.get(f"/api/monitors/{hb['id']}/checks", headers=tenant.headers)).json()
    since = pinged.strftime("%Y-%m-%d %H:%M:%S")
    errors = [c["error"] for c in checks["data"][:2]]
    assert len(errors) == 2
    assert all(e.startswith(f"No ping received since {since} UTC;") for e in errors), errors


async def test_ping_limit_is_120_a_minute_per_token_on_the_injected_clock(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    token = (await _create(client, tenant))["heartbeatToken"]
    minute = clock.now().replace(second=0, microsecond=0)
    clock.set(minute)
    for _ in range(120):
        r = await client.post(f"/api/heartbeat/{token}/start")
        assert r.status_code == 200, r.text
    r = await client.get(f"/api/heartbeat/{token}")
    assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    clock.set(minute + timedelta(seconds=59, milliseconds=999))
    r = await client.get(f"/api/heartbeat/{token}")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    clock.set(minute + timedelta(seconds=60))  # a new minute
    assert (await client.get(f"/api/heartbeat/{token}")).status_code == 200


async def test_steady_pings_are_counted_in_the_rollups_like_written_ones(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    hb = await _create(client, tenant, config={"grace": 300})
    # The first ping goes through the writer, the next ones take the steady path;
    # one arrives inside a maintenance window.
    r = await client.post(
        "/api/maintenance",
        headers=tenant.headers,
        json={
            "title": "Patch night",
            "startsAt": (clock.now() + timedelta(seconds=3 * 1700 - 60)).isoformat(),
            "endsAt": (clock.now() + timedelta(seconds=3 * 1700 + 60)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    for _ in range(5):
        clock.advance(1700)
        ping = await client.post(f"/api/heartbeat/{hb['heartbeatToken']}")
        assert ping.status_code == 200

    async with store.sessions() as session:
        rows = (
            await session.execute(
                select(
                    HOURLY.c.bucket_at, HOURLY.c.checks, HOURLY.c.up, HOURLY.c.maintenance
                ).order_by(HOURLY.c.bucket_at)
            )
        ).all()
        daily = (await session.execute(select(DAILY.c.checks, DAILY.c.hours_mask))).all()
    start = clock.now() - timedelta(seconds=5 * 1700)
    hours: dict[datetime, int] = {}
    for n in range(1, 6):
        at = (start + timedelta(seconds=n * 1700)).replace(minute=0, second=0, microsecond=0)
        hours[at] = hours.get(at, 0) + 1
    assert [(h, c, c) for h, c in sorted(hours.items())] == [(h, c, u) for h, c, u, _ in rows]
    assert sum(m for *_, m in rows) == 1
    mask = sum({1 << h.hour for h in hours})
    assert [tuple(d) for d in daily] == [(5, mask)]
