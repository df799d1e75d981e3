"""``/api/maintenance``: windows, their active/upcoming/past filters on a frozen clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from store.clock import FrozenClock
from store.db import Store
from store.maintenance import in_maintenance
from store.models import MaintenanceWindow
from tests.api.conftest import Tenant
from tests.api.helpers import assert_error, create_monitor

# The clock fixture starts at 2026-03-01T12:00:00Z.
WINDOW_FIELDS = {
    "id",
    "title",
    "description",
    "monitorId",
    "monitorName",
    "startsAt",
    "endsAt",
    "isActive",
    "inProgress",
    "createdAt",
}


def window_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Database upgrade",
        "description": "Upgrading PostgreSQL to v16",
        "startsAt": "2026-03-02T02:00:00.000Z",
        "endsAt": "2026-03-02T04:00:00.000Z",
    }
    body.update(overrides)
    return body


async def create_window(client: httpx.AsyncClient, tenant: Tenant, **overrides: Any) -> str:
    response = await client.post(
        "/api/maintenance", headers=tenant.headers, json=window_body(**overrides)
    )
    assert response.status_code == 201, response.text
    window_id: str = response.json()["data"]["id"]
    return window_id


async def titles(client: httpx.AsyncClient, tenant: Tenant, query: str = "") -> list[str]:
    response = await client.get(f"/api/maintenance{query}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [w["title"] for w in response.json()["data"]]


# --- create ---------------------------------------------------------------------------


async def test_window_create_answers_the_reference_shape_with_the_monitor_name(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor_id = await create_monitor(client, tenant, name="Production API")

    response = await client.post(
        "/api/maintenance", headers=tenant.headers, json=window_body(monitorId=monitor_id)
    )

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == WINDOW_FIELDS
    assert data["id"].startswith("mw_")
    assert data == {
        "id": data["id"],
        "title": "Database upgrade",
        "description": "Upgrading PostgreSQL to v16",
        "monitorId": monitor_id,
        "monitorName": "Production API",
        "startsAt": "2026-03-02T02:00:00.000Z",
        "endsAt": "2026-03-02T04:00:00.000Z",
        "isActive": True,
        "inProgress": False,
        "createdAt": "2026-03-01T12:00:00.000Z",
    }


async def test_window_create_without_monitor_is_org_wide_and_converts_offsets_to_utc(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/maintenance",
        headers=tenant.headers,
        json={
            "title": "Network work",
            "startsAt": "2026-03-01T13:30:00+02:00",
            "endsAt": "2026-03-01T12:30:00",
        },
    )

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert (data["monitorId"], data["monitorName"], data["description"]) == (None, None, None)
    # 13:30+02:00 is 11:30Z; a time without a zone is UTC. 11:30 <= now (12:00) < 12:30.
    assert (data["startsAt"], data["endsAt"]) == (
        "2026-03-01T11:30:00.000Z",
        "2026-03-01T12:30:00.000Z",
    )
    assert data["inProgress"] is True


@pytest.mark.parametrize(
    ("overrides", "field", "issue"),
    [
        pytest.param({"title": None}, "title", "is required", id="no-title"),
        pytest.param({"title": " "}, "title", "must be a non-empty string", id="blank-title"),
        pytest.param(
            {"title": "x" * 201}, "title", "must be at most 200 characters", id="long-title"
        ),
        pytest.param({"description": 5}, "description", "must be a string or null", id="desc"),
        pytest.param(
            {"startsAt": None},
            "startsAt",
            "is required: an ISO 8601 time such as 2025-06-20T02:00:00Z",
            id="no-start",
        ),
        pytest.param(
            {"endsAt": "tomorrow"},
            "endsAt",
            "must be an ISO 8601 time such as 2025-06-20T02:00:00Z",
            id="bad-end",
        ),
        pytest.param(
            {"endsAt": "2026-03-02T01:00:00Z"},
            "endsAt",
            "must be after startsAt (2026-03-02T02:00:00.000Z)",
            id="ends-before-start",
        ),
        pytest.param(
            {"endsAt": "2026-03-02T02:00:00Z"},
            "endsAt",
            "must be after startsAt (2026-03-02T02:00:00.000Z)",
            id="empty-window",
        ),
        pytest.param(
            {"monitorId": "mon_nope"},
            "monitorId",
            "has no monitor with id 'mon_nope' in this organization",
            id="unknown-monitor",
        ),
        pytest.param(
            {"monitorId": 7}, "monitorId", "must be a monitor id or null (org-wide)", id="int"
        ),
        pytest.param({"isActive": "yes"}, "isActive", "must be true or false", id="active"),
        pytest.param(
            {"recurring": True}, "recurring", "is not a maintenance window field", id="unknown"
        ),
    ],
)
async def test_window_create_rejects_invalid_fields(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    overrides: dict[str, Any],
    field: str,
    issue: str,
) -> None:
    body = {k: v for k, v in window_body(**overrides).items() if v is not None}

    response = await client.post("/api/maintenance", headers=tenant.headers, json=body)

    error = assert_error(response, 400, code="invalid_request", says=f"{field} {issue}")
    assert error["fields"] == [{"field": field, "issue": issue}]
    async with store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(MaintenanceWindow)) == 0


async def test_window_create_for_another_orgs_monitor_is_rejected(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_monitor(client, other_tenant)

    response = await client.post(
        "/api/maintenance", headers=tenant.headers, json=window_body(monitorId=theirs)
    )

    error = assert_error(response, 400, code="invalid_request")
    assert error["fields"] == [
        {"field": "monitorId", "issue": f"has no monitor with id {theirs!r} in this organization"}
    ]


async def test_window_create_with_idempotency_key_creates_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "mw-1"}
    first = await client.post("/api/maintenance", headers=headers, json=window_body())
    again = await client.post("/api/maintenance", headers=headers, json=window_body())

    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await titles(client, tenant) == ["Database upgrade"]


# --- list and filters -----------------------------------------------------------------


async def make_timeline(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """Windows around now (12:00): ended, in force, later, and two disabled ones."""
    await create_window(
        client,
        tenant,
        title="Ended",
        startsAt="2026-03-01T08:00:00Z",
        endsAt="2026-03-01T09:00:00Z",
    )
    await create_window(
        client, tenant, title="Now", startsAt="2026-03-01T11:00:00Z", endsAt="2026-03-01T12:30:00Z"
    )
    await create_window(
        client,
        tenant,
        title="Later",
        startsAt="2026-03-01T13:00:00Z",
        endsAt="2026-03-01T14:00:00Z",
    )
    await create_window(
        client,
        tenant,
        title="Now, disabled",
        isActive=False,
        startsAt="2026-03-01T11:30:00Z",
        endsAt="2026-03-01T13:00:00Z",
    )
    await create_window(
        client,
        tenant,
        title="Later, disabled",
        isActive=False,
        startsAt="2026-03-01T15:00:00Z",
        endsAt="2026-03-01T16:00:00Z",
    )


async def test_window_filters_split_active_upcoming_and_past_by_the_clock(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await make_timeline(client, tenant)
    await create_window(client, other_tenant, title="Not yours", startsAt="2026-03-01T11:00:00Z")

    assert await titles(client, tenant, "?filter=active") == ["Now"]
    assert await titles(client, tenant, "?filter=upcoming") == ["Later"]
    assert await titles(client, tenant, "?filter=past") == ["Ended"]
    assert await titles(client, tenant) == [
        "Ended",
        "Now",
        "Now, disabled",
        "Later",
        "Later, disabled",
    ]


async def test_window_filters_follow_the_clock_as_windows_start_and_end(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    await make_timeline(client, tenant)

    clock.advance(30 * 60)  # 12:30: "Now" ends exactly now (the end is exclusive)
    assert await titles(client, tenant, "?filter=active") == []
    assert await titles(client, tenant, "?filter=past") == ["Now", "Ended"]
    clock.advance(30 * 60)  # 13:00: "Later" starts; "Now, disabled" ends
    assert await titles(client, tenant, "?filter=active") == ["Later"]
    assert await titles(client, tenant, "?filter=upcoming") == []
    assert await titles(client, tenant, "?filter=past") == ["Now, disabled", "Now", "Ended"]


async def test_window_in_progress_is_enabled_and_covering_now(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_timeline(client, tenant)

    response = await client.get("/api/maintenance", headers=tenant.headers)

    shown = {w["title"]: (w["isActive"], w["inProgress"]) for w in response.json()["data"]}
    assert shown == {
        "Ended": (True, False),
        "Now": (True, True),
        "Later": (True, False),
        "Now, disabled": (False, False),
        "Later, disabled": (False, False),
    }


async def test_window_list_rejects_an_unknown_filter(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/maintenance?filter=current", headers=tenant.headers)

    error = assert_error(response, 400, code="invalid_request")
    assert error["fields"] == [
        {"field": "filter", "issue": "must be one of active, upcoming, past, or omitted"}
    ]


async def test_window_created_through_the_api_withholds_alerts_in_the_evaluator_query(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    covered = await create_monitor(client, tenant, name="Covered")
    other = await create_monitor(client, tenant, name="Other")
    await create_window(
        client,
        tenant,
        monitorId=covered,
        startsAt="2026-03-01T11:00:00Z",
        endsAt="2026-03-01T13:00:00Z",
    )

    async with store.transaction() as session:
        now = clock.now()
        assert await in_maintenance(session, org_id=tenant.org_id, monitor_id=covered, now=now)
        assert not await in_maintenance(session, org_id=tenant.org_id, monitor_id=other, now=now)


# --- update and delete ----------------------------------------------------------------


async def test_window_patch_changes_only_the_fields_given(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor_id = await create_monitor(client, tenant, name="Production API")
    window_id = await create_window(client, tenant, monitorId=monitor_id)

    response = await client.patch(
        f"/api/maintenance/{window_id}",
        headers=tenant.headers,
        json={"endsAt": "2026-03-02T06:00:00.000Z"},
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["endsAt"] == "2026-03-02T06:00:00.000Z"
    assert data["startsAt"] == "2026-03-02T02:00:00.000Z"
    assert (data["title"], data["monitorName"]) == ("Database upgrade", "Production API")


async def test_window_patch_disables_and_makes_org_wide(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor_id = await create_monitor(client, tenant)
    window_id = await create_window(
        client, tenant, monitorId=monitor_id, startsAt="2026-03-01T11:00:00Z"
    )
    assert await titles(client, tenant, "?filter=active") == ["Database upgrade"]

    response = await client.patch(
        f"/api/maintenance/{window_id}",
        headers=tenant.headers,
        json={"isActive": False, "monitorId": None, "description": None, "title": "Moved"},
    )

    data = response.json()["data"]
    assert (data["isActive"], data["inProgress"]) == (False, False)
    assert (data["monitorId"], data["monitorName"], data["description"]) == (None, None, None)
    assert data["title"] == "Moved"
    assert await titles(client, tenant, "?filter=active") == []


@pytest.mark.parametrize(
    ("body", "field", "issue"),
    [
        pytest.param(
            {"startsAt": "2026-03-02T05:00:00Z"},
            "endsAt",
            "must be after startsAt (2026-03-02T05:00:00.000Z)",
            id="start-after-stored-end",
        ),
        pytest.param(
            {"endsAt": "2026-03-02T01:00:00Z"},
            "endsAt",
            "must be after startsAt (2026-03-02T02:00:00.000Z)",
            id="end-before-stored-start",
        ),
        pytest.param({"title": None}, "title", "must be a non-empty string", id="null-title"),
        pytest.param(
            {"startsAt": None},
            "startsAt",
            "is required: an ISO 8601 time such as 2025-06-20T02:00:00Z",
            id="null-start",
        ),
        pytest.param({"id": "mw_x", "x": 1}, "x", "is not a maintenance window field", id="extra"),
    ],
)
async def test_window_patch_rejects_invalid_values_and_changes_nothing(
    client: httpx.AsyncClient,
    tenant: Tenant,
    body: dict[str, Any],
    field: str,
    issue: str,
) -> None:
    window_id = await create_window(client, tenant)

    response = await client.patch(
        f"/api/maintenance/{window_id}", headers=tenant.headers, json=body
    )

    error = assert_error(response, 400, code="invalid_request")
    assert error["fields"] == [{"field": field, "issue": issue}]
    after = await client.get(f"/api/maintenance/{window_id}", headers=tenant.headers)
    assert after.json()["data"]["title"] == "Database upgrade"
    assert after.json()["data"]["startsAt"] == "2026-03-02T02:00:00.000Z"
    assert after.json()["data"]["endsAt"] == "2026-03-02T04:00:00.000Z"


async def test_window_delete_removes_it(client: httpx.AsyncClient, tenant: Tenant) -> None:
    window_id = await create_window(client, tenant)

    response = await client.delete(f"/api/maintenance/{window_id}", headers=tenant.headers)

    assert response.status_code == 200
    assert response.json() == {"message": "Maintenance window deleted successfully"}
    after = await client.get(f"/api/maintenance/{window_id}", headers=tenant.headers)
    assert_error(
        after, 404, code="maintenance_window_not_found", says="Maintenance window not found"
    )
    assert await titles(client, tenant) == []


# --- scoping and permissions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body"),
    [
        pytest.param("GET", None, id="get"),
        pytest.param("PATCH", {"title": "Mine now"}, id="patch"),
        pytest.param("DELETE", None, id="delete"),
    ],
)
async def test_window_of_another_org_answers_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    method: str,
    body: dict[str, Any] | None,
) -> None:
    theirs = await create_window(client, other_tenant, title="Theirs")

    response = await client.request(
        method, f"/api/maintenance/{theirs}", headers=tenant.headers, json=body
    )

    assert_error(response, 404, code="maintenance_window_not_found")
    assert await titles(client, other_tenant) == ["Theirs"]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("POST", "", window_body(), id="create"),
        pytest.param("PATCH", "/{id}", {"title": "x"}, id="patch"),
        pytest.param("DELETE", "/{id}", None, id="delete"),
    ],
)
async def test_window_writes_with_a_read_only_key_answer_403(
    client: httpx.AsyncClient,
    tenant: Tenant,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    window_id = await create_window(client, tenant)
    made = await client.post(
        "/api/api-keys", headers=tenant.headers, json={"name": "Viewer", "readOnly": True}
    )
    reader = Tenant(org_id=tenant.org_id, key=made.json()["data"]["key"])

    response = await client.request(
        method, "/api/maintenance" + suffix.format(id=window_id), headers=reader.headers, json=body
    )

    assert_error(response, 403, code="forbidden", says="This API key is read-only")
    assert await titles(client, reader) == ["Database upgrade"]
