"""``GET /api/incidents`` and ``GET /api/monitors/:id/incidents``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant
from tests.api.helpers import add_incident, assert_error, create_monitor

REFERENCE_INCIDENT_FIELDS = {
    "id",
    "monitorId",
    "monitorName",
    "monitorUrl",
    "startedAt",
    "resolvedAt",
    "duration",
    "cause",
    "isActive",
}
VIGIL_INCIDENT_FIELDS = {"regions", "inMaintenance", "flapping"}


async def _two_monitors_with_incidents(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> tuple[str, str, list[str]]:
    """API has a resolved then an active incident; Web one resolved: oldest to newest."""
    api = await create_monitor(client, tenant, name="Production API")
    web = await create_monitor(client, tenant, name="Web", url="https://www.example.com")
    start = clock.now()
    ids = [
        await add_incident(
            store,
            org_id=tenant.org_id,
            monitor_id=api,
            started_at=start,
            resolved_at=start + timedelta(minutes=15),
        ),
        await add_incident(
            store,
            org_id=tenant.org_id,
            monitor_id=web,
            started_at=start + timedelta(hours=1),
            resolved_at=start + timedelta(hours=1, seconds=90),
            cause="HTTP 503",
        ),
        await add_incident(
            store,
            org_id=tenant.org_id,
            monitor_id=api,
            started_at=start + timedelta(hours=2),
            cause="Connection refused",
        ),
    ]
    return api, web, ids


async def test_incidents_list_answers_the_reference_fields_newest_first(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    api, _web, ids = await _two_monitors_with_incidents(client, tenant, store, clock)

    response = await client.get("/api/incidents", headers=tenant.headers)

    assert response.status_code == 200
    body = response.json()
    assert [i["id"] for i in body["data"]] == ids[::-1]
    active = body["data"][0]
    assert set(active) == REFERENCE_INCIDENT_FIELDS | VIGIL_INCIDENT_FIELDS
    assert active == {
        "id": ids[2],
        "monitorId": api,
        "monitorName": "Production API",
        "monitorUrl": "https://api.example.com/health",
        "startedAt": "2026-03-01T14:00:00.000Z",
        "resolvedAt": None,
        "duration": None,
        "cause": "Connection refused",
        "isActive": True,
        "regions": ["us-east-1"],
        "inMaintenance": False,
        "flapping": False,
    }
    assert body["data"][1]["duration"] == 90
    assert body["pagination"] == {"page": 1, "limit": 50, "total": 3, "totalPages": 1}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param("active", [2], id="active"),
        pytest.param("resolved", [1, 0], id="resolved"),
    ],
)
async def test_incidents_list_filters_by_status(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    clock: FrozenClock,
    status: str,
    expected: list[int],
) -> None:
    _api, _web, ids = await _two_monitors_with_incidents(client, tenant, store, clock)

    response = await client.get(f"/api/incidents?status={status}", headers=tenant.headers)

    assert [i["id"] for i in response.json()["data"]] == [ids[n] for n in expected]
    assert response.json()["pagination"]["total"] == len(expected)


async def test_incidents_list_filters_by_monitor(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    api, _web, ids = await _two_monitors_with_incidents(client, tenant, store, clock)

    response = await client.get(f"/api/incidents?monitorId={api}", headers=tenant.headers)

    assert [i["id"] for i in response.json()["data"]] == [ids[2], ids[0]]


async def test_incidents_list_pages(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    _api, _web, ids = await _two_monitors_with_incidents(client, tenant, store, clock)

    response = await client.get("/api/incidents?page=2&limit=2", headers=tenant.headers)

    assert [i["id"] for i in response.json()["data"]] == [ids[0]]
    assert response.json()["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}


async def test_incidents_list_hides_other_organizations(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    store: Store,
    clock: FrozenClock,
) -> None:
    theirs = await create_monitor(client, other_tenant)
    await add_incident(store, org_id=other_tenant.org_id, monitor_id=theirs, started_at=clock.now())

    everything = await client.get("/api/incidents", headers=tenant.headers)
    by_their_monitor = await client.get(
        f"/api/incidents?monitorId={theirs}", headers=tenant.headers
    )

    assert everything.json()["data"] == []
    assert by_their_monitor.json()["data"] == []


@pytest.mark.parametrize(
    ("params", "field", "issue"),
    [
        pytest.param({"status": "open"}, "status", "must be 'active' or 'resolved'", id="status"),
        pytest.param({"limit": 101}, "limit", "must be between 1 and 100", id="limit-101"),
        pytest.param({"limit": 0}, "limit", "must be between 1 and 100", id="limit-0"),
        pytest.param(
            {"page": "x"}, "page", "must be a whole number between 1 and 1000000000", id="page"
        ),
    ],
)
async def test_incidents_list_rejects_invalid_parameters(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any], field: str, issue: str
) -> None:
    response = await client.get("/api/incidents", headers=tenant.headers, params=params)

    body = assert_error(response, 400, code="invalid_request")
    assert {"field": field, "issue": issue} in body["fields"]


async def test_monitor_incidents_lists_that_monitors_newest_first(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    api, _web, ids = await _two_monitors_with_incidents(client, tenant, store, clock)

    response = await client.get(f"/api/monitors/{api}/incidents", headers=tenant.headers)

    assert response.status_code == 200
    data = response.json()["data"]
    assert [i["id"] for i in data] == [ids[2], ids[0]]
    resolved = data[1]
    assert {k: resolved[k] for k in REFERENCE_INCIDENT_FIELDS - {"monitorUrl"}} == {
        "id": ids[0],
        "monitorId": api,
        "monitorName": "Production API",
        "startedAt": "2026-03-01T12:00:00.000Z",
        "resolvedAt": "2026-03-01T12:15:00.000Z",
        "duration": 900,
        "cause": "Connection timeout",
        "isActive": False,
    }


async def test_monitor_incidents_page_like_the_incidents_list(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    """Not cut at a fixed number of rows: page/limit walk all of them."""
    monitor = await create_monitor(client, tenant)
    start = clock.now()
    ids = [
        await add_incident(
            store,
            org_id=tenant.org_id,
            monitor_id=monitor,
            started_at=start + timedelta(minutes=n),
            resolved_at=start + timedelta(minutes=n, seconds=30),
        )
        for n in range(5)
    ]
    url = f"/api/monitors/{monitor}/incidents"

    default = (await client.get(url, headers=tenant.headers)).json()
    page2 = (await client.get(url + "?page=2&limit=2", headers=tenant.headers)).json()
    bad = await client.get(url + "?limit=101", headers=tenant.headers)

    assert [i["id"] for i in default["data"]] == ids[::-1]
    assert default["pagination"] == {"page": 1, "limit": 50, "total": 5, "totalPages": 1}
    assert [i["id"] for i in page2["data"]] == [ids[2], ids[1]]
    assert page2["pagination"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3}
    body = assert_error(bad, 400, code="invalid_request")
    assert body["fields"] == [{"field": "limit", "issue": "must be between 1 and 100"}]
