"""``Idempotency-Key`` on the create endpoints: replay, 422, 409 in flight, no burnt keys."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.idempotency import request_digest
from store.clock import FrozenClock
from store.db import Store
from store.models import ApiKey, IdempotencyKey, Monitor, Organization
from tests.api.conftest import Tenant, make_tenant
from tests.api.helpers import assert_error, monitor_body

CREATES = [
    pytest.param("/api/monitors", monitor_body(), Monitor, id="monitors"),
    pytest.param("/api/api-keys", {"name": "CI/CD Pipeline"}, ApiKey, id="api-keys"),
    pytest.param(
        "/api/organization", {"name": "Initech", "slug": "initech"}, Organization, id="org"
    ),
]


async def _count(store: Store, model: type[Any]) -> int:
    async with store.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def _with_key(tenant: Tenant, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key}


@pytest.mark.parametrize(("path", "body", "model"), CREATES)
async def test_idempotency_same_key_and_body_replays_the_first_response(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    path: str,
    body: dict[str, Any],
    model: type[Any],
) -> None:
    before = await _count(store, model)
    first = await client.post(path, headers=_with_key(tenant, "create-1"), json=body)

    again = await client.post(path, headers=_with_key(tenant, "create-1"), json=body)

    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert await _count(store, model) == before + 1


@pytest.mark.parametrize(("path", "body", "model"), CREATES)
async def test_idempotency_same_key_with_another_body_is_422(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    path: str,
    body: dict[str, Any],
    model: type[Any],
) -> None:
    await client.post(path, headers=_with_key(tenant, "create-1"), json=body)
    before = await _count(store, model)

    response = await client.post(
        path, headers=_with_key(tenant, "create-1"), json={**body, "name": "Something else"}
    )

    assert_error(response, 422, code="unprocessable", says="already used with a different request")
    assert await _count(store, model) == before


async def _claim_in_flight(
    store: Store, clock: FrozenClock, tenant: Tenant, *, key: str, body: dict[str, Any]
) -> None:
    """The row a first request leaves while its create is still running."""
    async with store.transaction() as session:
        api_key_id = await session.scalar(select(ApiKey.id).where(ApiKey.org_id == tenant.org_id))
        assert api_key_id is not None
        session.add(
            IdempotencyKey(
                api_key_id=api_key_id,
                key=key,
                request_hash=request_digest("POST", "/api/monitors", json.dumps(body).encode()),
                created_at=clock.now(),
            )
        )


async def test_idempotency_retry_while_in_flight_is_409(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    body = monitor_body()
    await _claim_in_flight(store, clock, tenant, key="slow-1", body=body)
    clock.advance(30)

    response = await client.post(
        "/api/monitors",
        headers={**_with_key(tenant, "slow-1"), "Content-Type": "application/json"},
        content=json.dumps(body),
    )

    assert_error(response, 409, code="conflict", says="still in progress; retry shortly")
    assert await _count(store, Monitor) == 0


async def test_idempotency_abandoned_claim_is_taken_over(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    body = monitor_body()
    await _claim_in_flight(store, clock, tenant, key="crashed-1", body=body)
    clock.advance(121)

    response = await client.post(
        "/api/monitors",
        headers={**_with_key(tenant, "crashed-1"), "Content-Type": "application/json"},
        content=json.dumps(body),
    )

    assert response.status_code == 201, response.text
    assert await _count(store, Monitor) == 1


async def test_idempotency_concurrent_retries_create_one_monitor(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    responses = await asyncio.gather(
        *(
            client.post("/api/monitors", headers=_with_key(tenant, "race-1"), json=monitor_body())
            for _ in range(3)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 201
    assert set(statuses) <= {201, 409}
    ids = {r.json()["data"]["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    assert await _count(store, Monitor) == 1


async def test_idempotency_failed_create_does_not_burn_the_key(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    bad = await client.post(
        "/api/monitors", headers=_with_key(tenant, "fix-and-retry"), json=monitor_body(timeout=0)
    )

    fixed = await client.post(
        "/api/monitors", headers=_with_key(tenant, "fix-and-retry"), json=monitor_body()
    )

    assert bad.status_code == 400
    assert fixed.status_code == 201, fixed.text
    assert "Idempotent-Replayed" not in fixed.headers
    assert await _count(store, Monitor) == 1


async def test_idempotency_refused_create_does_not_burn_the_key(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    pro = await make_tenant(store, clock, "prolific", "PRO")
    refused = await client.post(
        "/api/monitors", headers=_with_key(pro, "k-1"), json=monitor_body(type="BROWSER")
    )

    allowed = await client.post("/api/monitors", headers=_with_key(pro, "k-1"), json=monitor_body())

    assert refused.status_code == 403
    assert allowed.status_code == 201, allowed.text


async def test_idempotency_keys_belong_to_one_api_key(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, store: Store
) -> None:
    mine = await client.post("/api/monitors", headers=_with_key(tenant, "k-1"), json=monitor_body())

    theirs = await client.post(
        "/api/monitors", headers=_with_key(other_tenant, "k-1"), json=monitor_body()
    )

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["data"]["id"] != mine.json()["data"]["id"]
    assert theirs.json()["data"]["orgId"] == other_tenant.org_id


async def test_idempotency_key_is_forgotten_after_24_hours(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    first = await client.post(
        "/api/monitors", headers=_with_key(tenant, "daily"), json=monitor_body()
    )
    clock.advance(24 * 3600 + 1)

    later = await client.post(
        "/api/monitors", headers=_with_key(tenant, "daily"), json=monitor_body()
    )

    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later.headers
    assert later.json()["data"]["id"] != first.json()["data"]["id"]


async def test_idempotency_key_longer_than_255_is_400(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    response = await client.post(
        "/api/monitors", headers=_with_key(tenant, "k" * 256), json=monitor_body()
    )

    assert_error(response, 400, code="invalid_request", says="1 to 255 characters")
    assert await _count(store, Monitor) == 0


async def test_idempotency_replayed_api_key_is_shown_masked(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await client.post(
        "/api/api-keys", headers=_with_key(tenant, "key-1"), json={"name": "CI"}
    )

    again = await client.post(
        "/api/api-keys", headers=_with_key(tenant, "key-1"), json={"name": "CI"}
    )

    full = first.json()["data"]["key"]
    assert again.json()["data"]["key"] == f"{full[:8]}...{full[-4:]}"
