"""``/api/dashboard/stats`` and ``/api/billing``."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant, make_tenant
from tests.api.helpers import add_check, add_incident, create_monitor


async def test_dashboard_stats_of_an_empty_organization(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/dashboard/stats", headers=tenant.headers)

    assert response.json() == {
        "data": {"totalMonitors": 0, "currentlyDown": 0, "avgUptime": 100.0, "incidentsToday": 0}
    }


async def test_dashboard_stats_count_monitors_downtime_uptime_and_todays_incidents(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    store: Store,
    clock: FrozenClock,
) -> None:
    now = clock.now()  # 12:00 UTC
    down = await create_monitor(client, tenant, name="Down")
    flaky = await create_monitor(client, tenant, name="Flaky")
    await create_monitor(client, tenant, name="Quiet")
    for status, age in [("UP", 1), ("UP", 2), ("DEGRADED", 3), ("DOWN", 4)]:
        await add_check(store, flaky, checked_at=now - timedelta(days=age), status=status)
    # Older than 30 days: not part of the average.
    await add_check(store, flaky, checked_at=now - timedelta(days=31), status="DOWN")
    await add_incident(store, org_id=tenant.org_id, monitor_id=down, started_at=now)
    await add_incident(
        store,
        org_id=tenant.org_id,
        monitor_id=flaky,
        started_at=now - timedelta(hours=11, minutes=30),
        resolved_at=now - timedelta(hours=11),
    )
    # Yesterday (UTC): not today's.
    await add_incident(
        store,
        org_id=tenant.org_id,
        monitor_id=flaky,
        started_at=now - timedelta(hours=12, minutes=1),
        resolved_at=now - timedelta(hours=12),
    )
    theirs = await create_monitor(client, other_tenant)
    await add_incident(store, org_id=other_tenant.org_id, monitor_id=theirs, started_at=now)
    await add_check(store, theirs, checked_at=now, status="DOWN")

    response = await client.get("/api/dashboard/stats", headers=tenant.headers)

    assert response.json() == {
        "data": {"totalMonitors": 3, "currentlyDown": 1, "avgUptime": 75.0, "incidentsToday": 2}
    }


@pytest.mark.parametrize("hour", [pytest.param(6, id="morning"), pytest.param(18, id="evening")])
async def test_dashboard_uptime_counts_from_the_hour_30_days_ago_to_now(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock, hour: int
) -> None:
    clock.set(clock.now().replace(hour=hour, minute=30))
    now = clock.now()
    monitor = await create_monitor(client, tenant)
    since = now - timedelta(days=30)  # its whole hour is the first one counted
    for at, status in [
        (since - timedelta(minutes=31), "DOWN"),  # the hour before: not counted
        (since - timedelta(minutes=20), "UP"),
        (since + timedelta(hours=3), "DOWN"),
        (now - timedelta(minutes=5), "UP"),
    ]:
        await add_check(store, monitor, checked_at=at, status=status)

    response = await client.get("/api/dashboard/stats", headers=tenant.headers)

    assert response.json()["data"]["avgUptime"] == 66.666


@pytest.mark.parametrize(
    ("plan", "limit"),
    [
        pytest.param("FREE", 5, id="free"),
        pytest.param("PRO", 50, id="pro"),
        pytest.param("BUSINESS", 200, id="business"),
        pytest.param("ENTERPRISE", None, id="enterprise-unlimited"),
    ],
)
async def test_billing_shows_plan_and_monitor_usage(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, plan: str, limit: int | None
) -> None:
    org = await make_tenant(store, clock, plan.lower(), plan)
    await create_monitor(client, org)
    await create_monitor(client, org)

    response = await client.get("/api/billing", headers=org.headers)

    assert response.status_code == 200
    body = response.json()
    expected = {"plan": plan, "monitorCount": 2, "monitorLimit": limit}
    assert {k: body[k] for k in ("plan", "monitorCount", "monitorLimit")} == expected
    nothing_over = {"monitorsOverLimit": 0, "intervalBelowMinimum": [], "browserNotAllowed": []}
    assert body["data"] == {**expected, "overLimit": nothing_over}
