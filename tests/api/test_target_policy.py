"""Trust through the API: new organizations start untrusted, and a channel test send
from an untrusted organization tells why it was refused, not what an internal host said."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.main import create_app
from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant, make_settings, make_tenant
from tests.servers.receivers import HttpReceiver, Reply


async def test_channel_test_from_untrusted_org_is_refused_before_connecting(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    outsider = await make_tenant(store, clock, "outsider", trusted=False)
    async with HttpReceiver(default=Reply(500, body=b"internal secret: hunter2")) as receiver:
        created = await client.post(
            "/api/alert-channels",
            headers=outsider.headers,
            json={
                "name": "Inside",
                "type": "WEBHOOK",
                "config": {"url": receiver.url_for("/admin"), "secret": "whsec_0123456789"},
            },
        )
        assert created.status_code == 201, created.text
        channel_id = created.json()["data"]["id"]
        response = await client.post(
            f"/api/alert-channels/{channel_id}/test", headers=outsider.headers
        )
        assert receiver.requests == []
    data = response.json()["data"]
    assert data["ok"] is False and data["statusCode"] is None
    assert data["error"].startswith(
        "webhook 'Inside': Refused to connect: 127.0.0.1, a loopback address"
    )
    assert "vigil admin trust-org" in data["error"]
    assert "hunter2" not in response.text


async def test_channel_test_from_trusted_org_reaches_loopback(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async with HttpReceiver(default=200) as receiver:
        created = await client.post(
            "/api/alert-channels",
            headers=tenant.headers,
            json={
                "name": "Inside",
                "type": "SLACK",
                "config": {"webhookUrl": receiver.url_for("/services/T/B/x")},
            },
        )
        channel_id = created.json()["data"]["id"]
        response = await client.post(
            f"/api/alert-channels/{channel_id}/test", headers=tenant.headers
        )
        await receiver.wait_for(1)
    assert response.json()["data"]["ok"] is True


@pytest.fixture
async def trusting_client(store: Store, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(trust_new_orgs=True), store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vigil.test") as c:
        yield c


NEW_ORG = {"name": "Tenant", "slug": "tenant", "ownerEmail": "o@tenant.test"}


async def test_organization_created_through_the_api_is_untrusted_by_default(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post("/api/organization", headers=tenant.headers, json=NEW_ORG)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["trusted"] is False
    mine = await client.get("/api/organization", headers=tenant.headers)
    assert mine.json()["data"]["trusted"] is True  # the caller's own flag is unchanged
    key = created.json()["data"]["apiKey"]
    theirs = await client.get("/api/organization", headers={"Authorization": f"Bearer {key}"})
    assert theirs.json()["data"]["trusted"] is False


async def test_trust_new_orgs_setting_makes_them_trusted(
    trusting_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await trusting_client.post("/api/organization", headers=tenant.headers, json=NEW_ORG)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["trusted"] is True


async def test_trusted_is_read_only_through_the_api(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    outsider = await make_tenant(store, clock, "outsider", trusted=False)
    response = await client.patch(
        "/api/organization", headers=outsider.headers, json={"trusted": True}
    )
    assert response.status_code == 400
    again = await client.get("/api/organization", headers=outsider.headers)
    assert again.json()["data"]["trusted"] is False
