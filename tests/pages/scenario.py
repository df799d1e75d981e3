"""A page with history: an outage yesterday, maintenance today, an incident now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from store.base import new_id
from store.clock import FrozenClock
from store.db import Store
from store.models import MaintenanceWindow
from store.status_page_models import IncidentUpdate
from tests.api.conftest import Tenant, make_tenant
from tests.api.helpers import add_checks, add_incident, create_monitor

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CREATED = NOW - timedelta(days=10)
OUTAGE_START = datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
OUTAGE_END = OUTAGE_START + timedelta(minutes=45)


@dataclass
class Scenario:
    tenant: Tenant
    api: str
    web: str
    outage: str
    active: str
    maintenance: str
    upcoming: str


async def _update(store: Store, incident: str, status: str, body: str, at: datetime) -> None:
    async with store.transaction() as session:
        session.add(
            IncidentUpdate(
                id=new_id("iu"), incident_id=incident, status=status, body=body, created_at=at
            )
        )


async def _window(
    store: Store, org_id: str, monitor_id: str | None, title: str, start: datetime, end: datetime
) -> str:
    window_id = new_id("mw")
    async with store.transaction() as session:
        session.add(
            MaintenanceWindow(
                id=window_id,
                org_id=org_id,
                monitor_id=monitor_id,
                title=title,
                description="Expect **brief** interruptions.",
                starts_at=start,
                ends_at=end,
                is_active=True,
                created_at=start - timedelta(days=1),
            )
        )
    return window_id


async def build(client: httpx.AsyncClient, store: Store, clock: FrozenClock) -> Scenario:
    """Two monitors created 10 days ago on page ``acme``; the clock ends at ``NOW``."""
    clock.set(CREATED)
    tenant = await make_tenant(store, clock, "acme")
    api = await create_monitor(client, tenant, name="Production API")
    web = await create_monitor(client, tenant, name="Website", url="https://www.example.com")
    clock.set(NOW)
    body = {
        "name": "Acme",
        "slug": "acme",
        "description": "Live status of Acme's services.",
        "components": [
            {"monitorId": api, "displayName": "API", "group": "Backend"},
            {"monitorId": web, "displayName": "Website", "group": "Frontend"},
        ],
    }
    response = await client.post("/api/status-pages", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    # A check every hour (uptime by time counts only hours with data); each day
    # since creation has its own response time.
    rows = []
    for hour in range(10 * 24):
        at = CREATED + timedelta(hours=hour, minutes=30)
        day = hour // 24
        down = OUTAGE_START <= at < OUTAGE_END
        for monitor_id, ms in ((api, 100 + 10 * day), (web, 300 - 10 * day)):
            rows.append(
                {
                    "monitor_id": monitor_id,
                    "region": "us-east-1",
                    "status": "DOWN" if down and monitor_id == api else "UP",
                    "checked_at": at,
                    "response_time_ms": ms,
                    "status_code": 200,
                    "total_ms": float(ms),
                }
            )
    await add_checks(store, rows)
    outage = await add_incident(
        store,
        org_id=tenant.org_id,
        monitor_id=api,
        started_at=OUTAGE_START,
        resolved_at=OUTAGE_END,
        cause="HTTP 503",
    )
    await _update(store, outage, "investigating", "We see **errors** on the API.", OUTAGE_START)
    await _update(
        store,
        outage,
        "identified",
        "A bad deploy; rolling back.",
        OUTAGE_START + timedelta(minutes=20),
    )
    await _update(store, outage, "resolved", "Rolled back; all good.", OUTAGE_END)
    active = await add_incident(
        store,
        org_id=tenant.org_id,
        monitor_id=web,
        started_at=NOW - timedelta(minutes=30),
        cause="Connection timeout",
    )
    await _update(
        store,
        active,
        "investigating",
        "Looking into it <script>alert(1)</script>",
        NOW - timedelta(minutes=25),
    )
    maintenance = await _window(
        store,
        tenant.org_id,
        api,
        "Database upgrade",
        NOW - timedelta(hours=1),
        NOW + timedelta(hours=1),
    )
    upcoming = await _window(
        store,
        tenant.org_id,
        None,
        "Network work",
        NOW + timedelta(hours=14),
        NOW + timedelta(hours=15),
    )
    return Scenario(tenant, api, web, outage, active, maintenance, upcoming)
