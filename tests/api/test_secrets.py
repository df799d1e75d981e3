"""Monitor secrets in responses: URL credentials, credential-looking query values and
header values are masked (at most 4 characters shown), a write that sends the mask
back keeps the stored value, and heartbeat URLs are not shown to read-only keys."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from store.clock import FrozenClock
from store.db import Store
from store.models import Monitor
from tests.api.conftest import Tenant
from tests.api.helpers import add_incident, create_monitor

PASSWORD = "hunter2hunter2"
API_KEY = "k-9f8e7d6c5b4a3921"
TOKEN = "Bearer tok_0123456789abcdef"
URL = f"https://bot:{PASSWORD}@api.example.com/health?api_key={API_KEY}&region=eu"
SHOWN_URL = "https://bot:\u2026ter2@api.example.com/health?api_key=\u20263921&region=eu"
CONFIG = {"headers": {"Authorization": TOKEN, "Accept": "text/json"}}
SHOWN_HEADERS = {"Authorization": "\u2026cdef", "Accept": "\u2026"}


async def read_only(client: httpx.AsyncClient, tenant: Tenant) -> Tenant:
    response = await client.post(
        "/api/api-keys", headers=tenant.headers, json={"name": "Dash", "readOnly": True}
    )
    assert response.status_code == 201, response.text
    return Tenant(org_id=tenant.org_id, key=response.json()["data"]["key"])


async def stored(store: Store, monitor_id: str) -> tuple[str, dict[str, Any]]:
    async with store.transaction() as session:
        m = (await session.scalars(select(Monitor).where(Monitor.id == monitor_id))).one()
        return m.url, m.config


async def test_monitor_secrets_are_masked_in_every_response(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "API", "url": URL, "type": "HTTP", "interval": 300, "config": CONFIG},
    )
    assert created.status_code == 201, created.text
    monitor_id = created.json()["data"]["id"]
    one = await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)
    listed = await client.get("/api/monitors", headers=tenant.headers)
    for data in (created.json()["data"], one.json()["data"], listed.json()["data"][0]):
        assert data["url"] == SHOWN_URL
        assert data["config"]["headers"] == SHOWN_HEADERS
    for response in (created, one, listed):
        for secret in (PASSWORD, API_KEY, TOKEN, "0123456789abcdef"):
            assert secret not in response.text


async def test_monitor_put_with_masked_values_keeps_the_stored_ones(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    monitor_id = await create_monitor(client, tenant, url=URL, config=CONFIG)
    shown = (await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)).json()
    data = shown["data"]
    body = {"name": "Renamed", "url": data["url"], "config": data["config"]}
    response = await client.put(f"/api/monitors/{monitor_id}", headers=tenant.headers, json=body)
    assert response.status_code == 200, response.text
    assert await stored(store, monitor_id) == (URL, CONFIG)

    # A new value (not the mask) replaces the stored one.
    headers = {"Authorization": "Bearer new-token-000000", "Accept": "\u2026"}
    response = await client.put(
        f"/api/monitors/{monitor_id}",
        headers=tenant.headers,
        json={"config": {"headers": headers}},
    )
    assert response.status_code == 200, response.text
    url, config = await stored(store, monitor_id)
    assert url == URL
    assert config["headers"] == {"Authorization": "Bearer new-token-000000", "Accept": "text/json"}


async def test_heartbeat_url_is_not_shown_to_read_only_keys(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "Backup", "type": "HEARTBEAT", "interval": 3600},
    )
    assert created.status_code == 201, created.text
    token = created.json()["data"]["heartbeatToken"]
    monitor_id = created.json()["data"]["id"]
    reader = await read_only(client, tenant)
    seen = await client.get(f"/api/monitors/{monitor_id}", headers=reader.headers)
    listed = await client.get("/api/monitors", headers=reader.headers)
    assert seen.status_code == 200
    assert "heartbeatUrl" not in seen.json()["data"]
    assert "heartbeatToken" not in seen.json()["data"]
    assert token not in seen.text and token not in listed.text
    writer = await client.get(f"/api/monitors/{monitor_id}", headers=tenant.headers)
    assert writer.json()["data"]["heartbeatUrl"].endswith(f"/api/heartbeat/{token}")


async def test_incident_monitor_url_is_masked(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await create_monitor(client, tenant, url=URL)
    await add_incident(store, org_id=tenant.org_id, monitor_id=monitor_id, started_at=clock.now())
    response = await client.get("/api/incidents", headers=tenant.headers)
    assert response.json()["data"][0]["monitorUrl"] == SHOWN_URL
