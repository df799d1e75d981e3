"""``/api/api-keys``: shown in full once, listed masked, stored only as a hash."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from store.base import Base
from store.clock import FrozenClock
from store.db import Store
from store.keys import hash_key
from store.models import ApiKey
from tests.api.conftest import Tenant
from tests.api.helpers import ISO_MS, assert_error

KEY_FIELDS = {"id", "name", "key", "readOnly", "lastUsed", "createdAt", "expiresAt"}


async def _create(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/api-keys", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_api_key_create_shows_the_full_key_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    data = await _create(client, tenant, name="CI/CD Pipeline")

    assert set(data) == KEY_FIELDS
    assert data["id"].startswith("key_")
    assert data["name"] == "CI/CD Pipeline"
    assert data["key"].startswith("vigil_")
    assert len(data["key"]) >= len("vigil_") + 32
    assert (data["lastUsed"], data["expiresAt"], data["readOnly"]) == (None, None, False)
    assert data["createdAt"] == "2026-03-01T12:00:00.000Z"
    works = await client.get("/api/monitors", headers={"Authorization": f"Bearer {data['key']}"})
    assert works.status_code == 200


async def test_api_key_list_is_masked_newest_first(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    clock.advance(60)
    created = await _create(client, tenant, name="CI/CD Pipeline")

    response = await client.get("/api/api-keys", headers=tenant.headers)

    listed = response.json()["data"]
    assert [k["name"] for k in listed] == ["CI/CD Pipeline", "Admin key"]
    full = created["key"]
    assert listed[0]["key"] == f"{full[:8]}...{full[-4:]}"
    assert listed[1]["key"] == f"{tenant.key[:8]}...{tenant.key[-4:]}"
    assert full not in response.text
    assert tenant.key not in response.text
    assert set(listed[0]) == KEY_FIELDS


async def test_api_key_last_used_is_set_after_use(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    created = await _create(client, tenant, name="CI")
    clock.advance(30)

    await client.get("/api/monitors", headers={"Authorization": f"Bearer {created['key']}"})

    listed = (await client.get("/api/api-keys", headers=tenant.headers)).json()["data"]
    used = next(k for k in listed if k["id"] == created["id"])
    assert used["lastUsed"] == "2026-03-01T12:00:30.000Z"
    assert ISO_MS.match(used["lastUsed"])


async def test_api_key_revoked_is_no_longer_listed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(client, tenant, name="Temporary")

    revoked = await client.delete(f"/api/api-keys/{created['id']}", headers=tenant.headers)
    again = await client.delete(f"/api/api-keys/{created['id']}", headers=tenant.headers)

    assert revoked.json() == {"message": "API key revoked successfully"}
    assert_error(again, 404, code="api_key_not_found", says="API key not found")
    listed = (await client.get("/api/api-keys", headers=tenant.headers)).json()["data"]
    assert created["id"] not in [k["id"] for k in listed]


@pytest.mark.parametrize(
    ("body", "field", "issue"),
    [
        pytest.param({}, "name", "is required", id="name-missing"),
        pytest.param({"name": "  "}, "name", "is required", id="name-blank"),
        pytest.param(
            {"name": "n" * 101}, "name", "must be at most 100 characters", id="name-too-long"
        ),
        pytest.param(
            {"name": "CI", "readOnly": "yes"}, "readOnly", "must be true or false", id="read-only"
        ),
        pytest.param(
            {"name": "CI", "expiresAt": "2026-03-01T11:00:00Z"},
            "expiresAt",
            "must be in the future",
            id="expires-in-past",
        ),
        pytest.param(
            {"name": "CI", "expiresAt": 1772366460},
            "expiresAt",
            "must be an ISO 8601 time",
            id="expires-not-a-string",
        ),
        pytest.param(
            {"name": "CI", "scope": "all"}, "scope", "is not an API key field", id="unknown-field"
        ),
    ],
)
async def test_api_key_create_rejects_invalid_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str, issue: str
) -> None:
    response = await client.post("/api/api-keys", headers=tenant.headers, json=body)

    result = assert_error(response, 400, code="invalid_request")
    assert {"field": field, "issue": issue} in result["fields"]


async def test_api_key_create_rejects_an_unreadable_expiry(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/api-keys", headers=tenant.headers, json={"name": "CI", "expiresAt": "next week"}
    )

    assert_error(response, 400, code="invalid_request", says="expiresAt must be an ISO 8601 time")


async def test_api_key_plaintext_is_stored_nowhere(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    plain = [(await _create(client, tenant, name="plain"))["key"], tenant.key]
    replayable = await client.post(
        "/api/api-keys",
        headers={**tenant.headers, "Idempotency-Key": "once"},
        json={"name": "replayable"},
    )
    plain.append(replayable.json()["data"]["key"])
    org = await client.post(
        "/api/organization",
        headers={**tenant.headers, "Idempotency-Key": "org-once"},
        json={"name": "Initech", "slug": "initech"},
    )
    plain.append(org.json()["data"]["apiKey"])

    stored: list[str] = []
    async with store.transaction() as session:
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(select(table)):
                stored.extend(str(value) for value in row)
        hashes = set(await session.scalars(select(ApiKey.key_hash)))

    dump = "\n".join(stored)
    for key in plain:
        assert key not in dump
        assert key[8:-4] not in dump
        assert hash_key(key) in hashes
