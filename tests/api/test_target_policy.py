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


@pytest.mark.parametrize(
    ("monitor_type", "url", "says"),
    [
        ("HTTP", "http://127.0.0.1:6379/", "127.0.0.1, a loopback address"),
        ("HTTP", "http://[::ffff:169.254.169.254]/latest", "which embeds 169.254.169.254"),
        ("HTTP", "http://localhost:8080/health", "localhost resolves to 127.0.0.1"),
        ("TCP", "tcp://10.0.0.5:5432", "10.0.0.5, a private address"),
        ("SSL", "192.168.1.1:443", "192.168.1.1, a private address"),
        ("PING", "::1", "::1, a loopback address"),
        ("DNS", "0.0.0.0", "0.0.0.0, an unspecified"),
        ("BROWSER", "http://app.localhost/", "app.localhost resolves to 127.0.0.1"),
    ],
)
async def test_untrusted_org_cannot_create_a_monitor_on_an_internal_literal_address(
    client: httpx.AsyncClient,
    store: Store,
    clock: FrozenClock,
    monitor_type: str,
    url: str,
    says: str,
) -> None:
    outsider = await make_tenant(store, clock, "outsider", trusted=False)
    body = {"name": "inside", "type": monitor_type, "url": url}
    created = await client.post("/api/monitors", headers=outsider.headers, json=body)
    assert created.status_code == 400, created.text
    [field] = created.json()["fields"]
    assert field["field"] == "url"
    assert says in field["issue"] and "vigil admin trust-org" in field["issue"]
    listed = await client.get("/api/monitors", headers=outsider.headers)
    assert listed.json()["data"] == []


async def test_internal_literal_addresses_stay_open_to_trusted_orgs_and_names_to_everyone(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    trusted = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "own redis", "type": "TCP", "url": "tcp://127.0.0.1:6379"},
    )
    assert trusted.status_code == 201, trusted.text
    outsider = await make_tenant(store, clock, "outsider", trusted=False)
    # A name is judged on the address it resolves to, when the check connects.
    named = await client.post(
        "/api/monitors",
        headers=outsider.headers,
        json={"name": "site", "type": "HTTP", "url": "https://internal.example.com/"},
    )
    assert named.status_code == 201, named.text
    moved = await client.put(
        f"/api/monitors/{named.json()['data']['id']}",
        headers=outsider.headers,
        json={"url": "http://127.0.0.1/"},
    )
    assert moved.status_code == 400 and moved.json()["fields"][0]["field"] == "url"
