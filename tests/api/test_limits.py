"""Limits a hostile tenant would try: shared budgets, concurrent creates, key lifetimes,
organizations on demand, guessing keys and heartbeat tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest

from api.main import create_app
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from tests.api.conftest import Tenant, make_settings, make_tenant
from tests.api.helpers import assert_error, monitor_body

AUTH_FAILURES_PER_MINUTE = Settings().auth_failures_per_minute
UNKNOWN_TOKENS_PER_MINUTE = Settings().unknown_tokens_per_minute


@asynccontextmanager
async def api_process(
    database_url: str, clock: FrozenClock, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """Another API process: its own app and its own connection pool on the same database."""
    store = Store(database_url)
    app = create_app(settings, store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://vigil-2.test") as c:
            yield c
    finally:
        await store.close()


async def new_key(client: httpx.AsyncClient, tenant: Tenant, **fields: object) -> dict[str, str]:
    response = await client.post(
        "/api/api-keys", headers=tenant.headers, json={"name": "k", **fields}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['key']}"}


# Rate limits


async def test_rate_limit_is_the_organizations_whatever_key_is_used(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    keys = [free.headers, await new_key(client, free), await new_key(client, free)]
    statuses = [
        (await client.get("/api/organization", headers=keys[n % 3])).status_code
        for n in range(58)  # +2 key creations = the plan's 60
    ]

    over = await client.get("/api/organization", headers=keys[2])

    assert statuses == [200] * 58
    assert_error(over, 429, code="rate_limited", says="60 requests per minute")
    assert "on the FREE plan, shared by the organization's keys" in over.json()["error"]


async def test_rate_limit_key_share_caps_one_key(
    store: Store, clock: FrozenClock, database_url: str
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    settings = make_settings(key_rate_share=0.25)  # 15 of FREE's 60
    async with api_process(database_url, clock, settings) as client:
        second = await new_key(client, free)
        first_key = [
            (await client.get("/api/organization", headers=free.headers)) for _ in range(14)
        ]
        capped = await client.get("/api/organization", headers=free.headers)
        other = await client.get("/api/organization", headers=second)

    assert [r.status_code for r in first_key] == [200] * 14  # +1 key creation = 15
    assert first_key[-1].headers["X-RateLimit-Limit"] == "15"
    assert first_key[-1].headers["X-RateLimit-Remaining"] == "0"
    assert_error(capped, 429, code="rate_limited", says="15 requests per minute for this key")
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == "14"


# Monitor count under concurrency


async def test_monitor_limit_holds_for_concurrent_creates_from_two_processes(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, database_url: str
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    settings = make_settings()
    async with api_process(database_url, clock, settings) as second:
        responses = await asyncio.gather(
            *(
                (client if n % 2 else second).post(
                    "/api/monitors", headers=free.headers, json=monitor_body(name=f"m{n}")
                )
                for n in range(12)
            )
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [403] * 7, [r.text for r in responses if r.status_code >= 500]
    listed = await client.get("/api/monitors", headers=free.headers)
    assert listed.json()["pagination"]["total"] == 5


# Key lifetimes


async def test_key_cannot_create_a_key_that_outlives_it(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    ends = clock.now() + timedelta(hours=1)
    short = await new_key(client, tenant, expiresAt=ends.isoformat())

    later = await client.post(
        "/api/api-keys",
        headers=short,
        json={"name": "x", "expiresAt": (ends + timedelta(seconds=1)).isoformat()},
    )
    same = await client.post(
        "/api/api-keys", headers=short, json={"name": "x", "expiresAt": ends.isoformat()}
    )
    unset = await client.post("/api/api-keys", headers=short, json={"name": "x"})

    error = assert_error(later, 400, code="invalid_request", says="expiresAt must not be after")
    assert error["fields"][0]["field"] == "expiresAt"
    assert same.status_code == 201
    assert unset.status_code == 201
    assert unset.json()["data"]["expiresAt"] == "2026-03-01T13:00:00.000Z"


async def test_key_without_expiry_creates_keys_without_expiry(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post("/api/api-keys", headers=tenant.headers, json={"name": "x"})

    assert response.json()["data"]["expiresAt"] is None


# Organization creation


@pytest.mark.parametrize(
    ("plan", "allowed"),
    [
        pytest.param("FREE", 0, id="free"),
        pytest.param("PRO", 1, id="pro"),
        pytest.param("BUSINESS", 3, id="business"),
    ],
)
async def test_organization_creation_is_a_counted_allowance_per_plan(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, plan: str, allowed: int
) -> None:
    caller = await make_tenant(store, clock, "parent", plan)
    statuses = []
    for n in range(allowed + 1):
        response = await client.post(
            "/api/organization", headers=caller.headers, json={"name": "C", "slug": f"child-{n}"}
        )
        statuses.append(response.status_code)

    assert statuses == [201] * allowed + [403]
    assert_error(response, 403, code="forbidden", says=f"the {plan} plan may create {allowed}")


async def test_organization_created_through_the_api_cannot_create_more(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    child = await client.post(
        "/api/organization", headers=tenant.headers, json={"name": "C", "slug": "child"}
    )
    child_key = {"Authorization": f"Bearer {child.json()['data']['apiKey']}"}

    grandchild = await client.post(
        "/api/organization", headers=child_key, json={"name": "G", "slug": "grandchild"}
    )

    assert child.status_code == 201
    assert_error(grandchild, 403, code="forbidden", says="cannot create others")


async def test_organization_allowance_holds_under_concurrency(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, database_url: str
) -> None:
    caller = await make_tenant(store, clock, "parent", "BUSINESS")
    async with api_process(database_url, clock, make_settings()) as second:
        responses = await asyncio.gather(
            *(
                (client if n % 2 else second).post(
                    "/api/organization",
                    headers=caller.headers,
                    json={"name": "C", "slug": f"child-{n}"},
                )
                for n in range(8)
            )
        )

    assert sorted(r.status_code for r in responses) == [201] * 3 + [403] * 5


# Guessing


async def test_failed_authentications_are_throttled_per_address(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    bad = {"Authorization": "Bearer vigil_guess"}
    first = [(await client.get("/api/monitors", headers=bad)).status_code for _ in range(20)]

    throttled = await client.get("/api/monitors", headers=bad)
    valid_meanwhile = await client.get("/api/monitors", headers=tenant.headers)
    clock.advance(60)
    next_minute = await client.get("/api/monitors", headers=tenant.headers)

    assert AUTH_FAILURES_PER_MINUTE == 20
    assert first == [401] * 20
    assert_error(throttled, 429, code="rate_limited", says="Too many invalid API keys")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    # The address is refused for the rest of the minute, valid key or not.
    assert valid_meanwhile.status_code == 429
    assert next_minute.status_code == 200


async def test_nineteen_failures_do_not_throttle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    bad = {"Authorization": "Bearer vigil_guess"}
    for _ in range(AUTH_FAILURES_PER_MINUTE - 1):
        await client.get("/api/monitors", headers=bad)

    assert (await client.get("/api/monitors", headers=tenant.headers)).status_code == 200
    assert (await client.get("/api/monitors", headers=bad)).status_code == 401


async def test_unknown_heartbeat_tokens_are_throttled_per_address(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    hb = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "Job", "type": "HEARTBEAT", "interval": 300},
    )
    token = hb.json()["data"]["heartbeatToken"]
    guesses = [
        (await client.get(f"/api/heartbeat/hb_guess{n}")).status_code
        for n in range(UNKNOWN_TOKENS_PER_MINUTE)
    ]

    throttled = await client.get("/api/heartbeat/hb_guess_more")
    known = await client.get(f"/api/heartbeat/{token}")

    assert guesses == [404] * UNKNOWN_TOKENS_PER_MINUTE
    assert_error(throttled, 429, code="rate_limited", says="unknown heartbeat tokens")
    assert known.status_code == 429
