"""``/api/monitors``: create, list, read, update, delete, pause and resume."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant, make_tenant
from tests.api.helpers import (
    ISO_MS,
    REFERENCE_MONITOR_FIELDS,
    VIGIL_MONITOR_FIELDS,
    add_check,
    add_incident,
    assert_error,
    create_monitor,
    monitor_body,
)


async def test_monitor_create_answers_the_reference_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "name": "Production API",
        "url": "https://api.example.com/health",
        "type": "HTTP",
        "interval": 60,
        "method": "GET",
        "expectedStatus": 200,
        "timeout": 10,
        "regions": ["us-east-1", "eu-west-1"],
    }
    response = await client.post("/api/monitors", headers=tenant.headers, json=body)

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == REFERENCE_MONITOR_FIELDS | VIGIL_MONITOR_FIELDS
    assert data["id"].startswith("mon_")
    assert {k: data[k] for k in body} == body
    assert data["isActive"] is True
    assert data["expectedKeyword"] is None
    assert data["orgId"] == tenant.org_id
    assert data["createdAt"] == data["updatedAt"] == "2026-03-01T12:00:00.000Z"
    assert data["config"] == {}
    assert (data["failureThreshold"], data["recoveryThreshold"], data["regionQuorum"]) == (2, 1, 1)


async def test_monitor_create_fills_the_documented_defaults(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "Site", "url": "https://example.com", "type": "HTTP"},
    )

    data = response.json()["data"]
    assert (data["interval"], data["method"], data["timeout"]) == (60, "GET", 30)
    assert data["regions"] == ["us-east-1"]


async def test_monitor_create_on_free_defaults_to_the_plan_minimum_interval(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")

    response = await client.post(
        "/api/monitors",
        headers=free.headers,
        json={"name": "Site", "url": "https://example.com", "type": "HTTP"},
    )

    assert response.status_code == 201, response.text
    assert response.json()["data"]["interval"] == 300


async def test_monitor_heartbeat_create_gives_its_ping_url(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "Nightly backup", "type": "HEARTBEAT", "interval": 3600},
    )

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["heartbeatToken"].startswith("hb_")
    assert data["heartbeatUrl"].endswith(f"/api/heartbeat/{data['heartbeatToken']}")


async def test_monitor_list_is_newest_first_with_last_check(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    older = await create_monitor(client, tenant, name="Older")
    clock.advance(60)
    newer = await create_monitor(client, tenant, name="Newer")
    await add_check(store, older, checked_at=clock.now() - timedelta(minutes=5), status="DOWN")
    await add_check(store, older, checked_at=clock.now(), response_time_ms=87)

    response = await client.get("/api/monitors", headers=tenant.headers)

    assert response.status_code == 200
    body = response.json()
    assert [m["id"] for m in body["data"]] == [newer, older]
    assert body["data"][0]["lastCheck"] is None
    assert body["data"][1]["lastCheck"] == {
        "status": "UP",
        "responseTime": 87,
        "checkedAt": "2026-03-01T12:01:00.000Z",
    }
    assert body["pagination"] == {"page": 1, "limit": 2, "total": 2, "totalPages": 1}


async def test_monitor_list_without_page_or_limit_returns_every_monitor(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    """ "Retrieve all monitors": more than one default page (50), still with pagination."""
    ids = []
    for n in range(51):
        ids.append(await create_monitor(client, tenant, name=f"M{n}"))
        clock.advance(1)

    everything = (await client.get("/api/monitors", headers=tenant.headers)).json()
    first_page = (await client.get("/api/monitors?page=1", headers=tenant.headers)).json()

    assert [m["id"] for m in everything["data"]] == ids[::-1]
    assert everything["pagination"] == {"page": 1, "limit": 51, "total": 51, "totalPages": 1}
    assert len(first_page["data"]) == 50
    assert first_page["pagination"] == {"page": 1, "limit": 50, "total": 51, "totalPages": 2}


async def test_monitor_list_of_no_monitors_has_an_empty_pagination(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = (await client.get("/api/monitors", headers=tenant.headers)).json()

    assert body == {"data": [], "pagination": {"page": 1, "limit": 0, "total": 0, "totalPages": 0}}


async def test_monitor_list_pages_with_page_and_limit(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    ids = []
    for n in range(3):
        ids.append(await create_monitor(client, tenant, name=f"M{n}"))
        clock.advance(1)

    response = await client.get("/api/monitors?page=2&limit=2", headers=tenant.headers)

    body = response.json()
    assert [m["name"] for m in body["data"]] == ["M0"]
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}


async def test_monitor_list_shows_only_the_callers_organization(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await create_monitor(client, other_tenant, name="Theirs")
    mine = await create_monitor(client, tenant, name="Mine")

    response = await client.get("/api/monitors", headers=tenant.headers)

    assert [m["id"] for m in response.json()["data"]] == [mine]


async def test_monitor_get_includes_last_50_checks_and_10_incidents(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await create_monitor(client, tenant)
    start = clock.now()
    for n in range(52):
        await add_check(store, monitor_id, checked_at=start + timedelta(minutes=n))
    for n in range(11):
        began = start + timedelta(hours=n)
        await add_incident(
            store,
            org_id=tenant.org_id,
            monitor_id=monitor_id,
            started_at=began,
            resolved_at=began + timedelta(minutes=15),
        )

    response = await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)

    assert response.status_code == 200
    data = response.json()["data"]
    assert len(data["checks"]) == 50
    assert data["checks"][0]["checkedAt"] == "2026-03-01T12:51:00.000Z"
    first = data["checks"][0]
    assert first["id"].startswith("chk_")
    assert (first["status"], first["responseTime"], first["statusCode"], first["region"]) == (
        "UP",
        142,
        200,
        "us-east-1",
    )
    assert len(data["incidents"]) == 10
    newest = data["incidents"][0]
    assert newest["startedAt"] == "2026-03-01T22:00:00.000Z"
    assert newest["resolvedAt"] == "2026-03-01T22:15:00.000Z"
    assert (newest["duration"], newest["cause"], newest["isActive"]) == (
        900,
        "Connection timeout",
        False,
    )


async def test_monitor_update_changes_only_given_fields(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    monitor_id = await create_monitor(client, tenant, timeout=10)
    clock.advance(3600)

    response = await client.put(
        f"/api/monitors/{monitor_id}",
        headers=tenant.headers,
        json={"name": "Production API (Updated)", "interval": 30},
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["name"] == "Production API (Updated)"
    assert data["interval"] == 30
    assert data["timeout"] == 10
    assert data["url"] == "https://api.example.com/health"
    assert data["createdAt"] == "2026-03-01T12:00:00.000Z"
    assert data["updatedAt"] == "2026-03-01T13:00:00.000Z"
    stored = (await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)).json()
    assert stored["data"]["name"] == "Production API (Updated)"


async def test_monitor_update_accepts_the_fields_get_returned(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor_id = await create_monitor(client, tenant)
    fetched = (await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)).json()
    fetched["data"]["name"] = "Round trip"

    response = await client.put(
        f"/api/monitors/{monitor_id}", headers=tenant.headers, json=fetched["data"]
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == "Round trip"


async def test_monitor_update_validates_against_the_stored_type(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor_id = await create_monitor(client, tenant)

    response = await client.put(
        f"/api/monitors/{monitor_id}", headers=tenant.headers, json={"url": "tcp://db:5432"}
    )

    body = assert_error(response, 400, code="invalid_request", says="url")
    assert body["fields"] == [{"field": "url", "issue": "must be a valid http:// or https:// URL"}]


async def test_monitor_update_to_browser_on_pro_is_forbidden(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    pro = await make_tenant(store, clock, "prolific", "PRO")
    monitor_id = await create_monitor(client, pro)

    response = await client.put(
        f"/api/monitors/{monitor_id}", headers=pro.headers, json={"type": "BROWSER"}
    )

    assert_error(response, 403, code="forbidden", says="BUSINESS or ENTERPRISE plan")


async def test_monitor_delete_removes_it_with_its_history(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await create_monitor(client, tenant)
    await add_check(store, monitor_id, checked_at=clock.now())
    await add_incident(store, org_id=tenant.org_id, monitor_id=monitor_id, started_at=clock.now())

    response = await client.delete(f"/api/monitors/{monitor_id}", headers=tenant.headers)

    assert response.status_code == 200
    assert response.json() == {"message": "Monitor deleted successfully"}
    gone = await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)
    assert_error(gone, 404, code="monitor_not_found", says="Monitor not found")
    incidents = await client.get("/api/incidents", headers=tenant.headers)
    assert incidents.json()["data"] == []


@pytest.mark.parametrize(
    ("action", "active", "message"),
    [
        pytest.param("pause", False, "Monitor paused", id="pause"),
        pytest.param("resume", True, "Monitor resumed", id="resume"),
    ],
)
async def test_monitor_pause_and_resume_set_is_active(
    client: httpx.AsyncClient, tenant: Tenant, action: str, active: bool, message: str
) -> None:
    monitor_id = await create_monitor(client, tenant, isActive=not active)

    response = await client.post(f"/api/monitors/{monitor_id}/{action}", headers=tenant.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == message
    assert (body["data"]["id"], body["data"]["name"]) == (monitor_id, "Production API")
    assert body["data"]["isActive"] is active
    listed = (await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)).json()
    assert listed["data"]["isActive"] is active


async def test_monitor_count_limit_on_free_is_five(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    for n in range(5):
        await create_monitor(client, free, name=f"M{n}")

    response = await client.post("/api/monitors", headers=free.headers, json=monitor_body())

    assert_error(response, 403, code="forbidden", says="the FREE plan allows 5 monitors")
    billing = (await client.get("/api/billing", headers=free.headers)).json()
    assert billing["monitorCount"] == 5


async def test_monitor_count_limit_frees_a_slot_after_delete(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    ids = [await create_monitor(client, free, name=f"M{n}") for n in range(5)]
    await client.delete(f"/api/monitors/{ids[0]}", headers=free.headers)

    response = await client.post("/api/monitors", headers=free.headers, json=monitor_body())

    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("plan", "allowed"),
    [
        pytest.param("FREE", False, id="free"),
        pytest.param("PRO", False, id="pro"),
        pytest.param("BUSINESS", True, id="business"),
        pytest.param("ENTERPRISE", True, id="enterprise"),
    ],
)
async def test_monitor_browser_type_needs_business_or_enterprise(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, plan: str, allowed: bool
) -> None:
    org = await make_tenant(store, clock, plan.lower(), plan)

    response = await client.post(
        "/api/monitors", headers=org.headers, json=monitor_body(type="BROWSER")
    )

    if allowed:
        assert response.status_code == 201, response.text
    else:
        body = assert_error(response, 403, code="forbidden", says="BUSINESS or ENTERPRISE plan")
        assert plan in body["error"]


async def test_monitor_times_use_milliseconds_and_z(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    clock.advance(0.123456)

    response = await client.post("/api/monitors", headers=tenant.headers, json=monitor_body())

    created = response.json()["data"]["createdAt"]
    assert ISO_MS.match(created)
    assert created == "2026-03-01T12:00:00.123Z"
