"""``POST/GET /api/incidents/:id/updates`` and the incident with its updates."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant
from tests.api.helpers import ISO_MS, add_incident, assert_error, create_monitor

UPDATE_FIELDS = {"id", "incidentId", "status", "body", "html", "createdAt"}


async def _incident(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> str:
    monitor = await create_monitor(client, tenant)
    return await add_incident(
        store, org_id=tenant.org_id, monitor_id=monitor, started_at=clock.now()
    )


@pytest.mark.parametrize("status", ["investigating", "identified", "monitoring", "resolved"])
async def test_an_update_is_stored_with_its_status_and_markdown(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock, status: str
) -> None:
    incident = await _incident(client, tenant, store, clock)

    response = await client.post(
        f"/api/incidents/{incident}/updates",
        headers=tenant.headers,
        json={"status": status, "body": "  We found **the cause**.  "},
    )

    assert response.status_code == 201, response.text
    update = response.json()["data"]
    assert set(update) == UPDATE_FIELDS
    assert update["id"].startswith("iu_") and ISO_MS.match(update["createdAt"])
    assert {k: update[k] for k in ("incidentId", "status", "body", "html")} == {
        "incidentId": incident,
        "status": status,
        "body": "We found **the cause**.",
        "html": "<p>We found <strong>the cause</strong>.</p>\n",
    }


async def test_raw_html_and_script_links_are_not_rendered(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    incident = await _incident(client, tenant, store, clock)
    body = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) [ok](https://example.com)"

    response = await client.post(
        f"/api/incidents/{incident}/updates",
        headers=tenant.headers,
        json={"status": "investigating", "body": body},
    )

    html = response.json()["data"]["html"]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html
    assert '<a href="https://example.com">ok</a>' in html


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"status": "fixed", "body": "x"}, "status", id="status-unknown"),
        pytest.param({"body": "x"}, "status", id="status-missing"),
        pytest.param({"status": "identified"}, "body", id="body-missing"),
        pytest.param({"status": "identified", "body": "   "}, "body", id="body-blank"),
        pytest.param({"status": "identified", "body": "x" * 10_001}, "body", id="body-10001"),
        pytest.param({"status": "identified", "body": "x", "by": "me"}, "by", id="unknown-field"),
    ],
)
async def test_an_invalid_update_is_400_and_not_stored(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    clock: FrozenClock,
    body: dict[str, object],
    field: str,
) -> None:
    incident = await _incident(client, tenant, store, clock)

    response = await client.post(
        f"/api/incidents/{incident}/updates", headers=tenant.headers, json=body
    )

    error = assert_error(response, 400, code="invalid_request")
    assert field in [f["field"] for f in error["fields"]]
    listed = await client.get(f"/api/incidents/{incident}/updates", headers=tenant.headers)
    assert listed.json()["data"] == []


async def test_a_body_of_10000_characters_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    incident = await _incident(client, tenant, store, clock)

    response = await client.post(
        f"/api/incidents/{incident}/updates",
        headers=tenant.headers,
        json={"status": "monitoring", "body": "x" * 10_000},
    )

    assert response.status_code == 201


async def test_updates_are_listed_on_the_incident_oldest_first(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    incident = await _incident(client, tenant, store, clock)
    for status in ("investigating", "identified"):
        await client.post(
            f"/api/incidents/{incident}/updates",
            headers=tenant.headers,
            json={"status": status, "body": status},
        )
        clock.advance(60)

    one = await client.get(f"/api/incidents/{incident}", headers=tenant.headers)

    data = one.json()["data"]
    assert data["id"] == incident and data["isActive"] is True
    assert [u["status"] for u in data["updates"]] == ["investigating", "identified"]
    first, second = data["updates"]
    assert first["createdAt"] == (clock.now() - timedelta(seconds=120)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    assert second["createdAt"] > first["createdAt"]


async def test_another_organizations_incident_is_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    store: Store,
    clock: FrozenClock,
) -> None:
    incident = await _incident(client, tenant, store, clock)
    path = f"/api/incidents/{incident}"

    posted = await client.post(
        f"{path}/updates", headers=other_tenant.headers, json={"status": "identified", "body": "x"}
    )
    read = await client.get(path, headers=other_tenant.headers)

    assert_error(posted, 404, code="incident_not_found")
    assert_error(read, 404, code="incident_not_found")
    assert (await client.get(f"{path}/updates", headers=tenant.headers)).json()["data"] == []
