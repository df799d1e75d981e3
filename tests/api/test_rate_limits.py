"""Per-organization rate limits shared by every API process through the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from api.main import create_app
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from tests.api.conftest import make_tenant
from tests.api.helpers import assert_error, create_monitor

WINDOW_END = 1772366460  # 2026-03-01T12:01:00Z, the end of the clock fixture's minute


@asynccontextmanager
async def _api_process(
    store: Store, clock: FrozenClock, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """One more API app on the same store, as a second process would be."""
    app = create_app(settings, store=store, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://vigil-2.test"
    ) as c:
        yield c


async def test_rate_limit_is_shared_by_two_api_processes(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, settings: Settings
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    async with _api_process(store, clock, settings) as second:
        remaining = []
        for n in range(60):
            response = await (client if n % 2 else second).get(
                "/api/monitors", headers=free.headers
            )
            assert response.status_code == 200, (n, response.text)
            remaining.append(int(response.headers["X-RateLimit-Remaining"]))

        clock.advance(15)
        over_first = await client.get("/api/monitors", headers=free.headers)
        over_second = await second.get("/api/monitors", headers=free.headers)

    assert remaining == list(range(59, -1, -1))
    for response in (over_first, over_second):
        assert_error(
            response, 429, code="rate_limited", says="60 requests per minute on the FREE plan"
        )
        assert response.headers["Retry-After"] == "45"
        assert response.headers["X-RateLimit-Limit"] == "60"
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert response.headers["X-RateLimit-Reset"] == str(WINDOW_END)


async def test_rate_limit_resets_in_a_new_minute(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    for _ in range(61):
        last = await client.get("/api/monitors", headers=free.headers)
    assert last.status_code == 429

    clock.advance(60)
    response = await client.get("/api/monitors", headers=free.headers)

    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "59"
    assert response.headers["X-RateLimit-Reset"] == str(WINDOW_END + 60)


@pytest.mark.parametrize(
    ("plan", "limit"),
    [
        pytest.param("FREE", "60", id="free"),
        pytest.param("PRO", "300", id="pro"),
        pytest.param("BUSINESS", "1000", id="business"),
        pytest.param("ENTERPRISE", "5000", id="enterprise"),
    ],
)
async def test_rate_limit_follows_the_plan(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, plan: str, limit: str
) -> None:
    org = await make_tenant(store, clock, plan.lower(), plan)

    response = await client.get("/api/organization", headers=org.headers)

    assert response.headers["X-RateLimit-Limit"] == limit
    assert response.headers["X-RateLimit-Remaining"] == str(int(limit) - 1)
    assert response.headers["X-RateLimit-Reset"] == str(WINDOW_END)


async def test_rate_limit_headers_are_on_every_authenticated_response(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    monitor_id = await create_monitor(client, free)
    reader = await client.post(
        "/api/api-keys", headers=free.headers, json={"name": "r", "readOnly": True}
    )
    reader_headers = {"Authorization": f"Bearer {reader.json()['data']['key']}"}

    responses = [
        await client.get(f"/api/monitors/{monitor_id}", headers=free.headers),
        await client.post("/api/monitors", headers=free.headers, json={"name": ""}),
        await client.get("/api/monitors/mon_nope", headers=free.headers),
        await client.delete(f"/api/monitors/{monitor_id}", headers=reader_headers),
        await client.get("/api/billing", headers=free.headers),
    ]

    assert [r.status_code for r in responses] == [200, 400, 404, 403, 200]
    for response in responses:
        assert response.headers["X-RateLimit-Limit"] == "60"
        assert int(response.headers["X-RateLimit-Remaining"]) < 60
        assert response.headers["X-RateLimit-Reset"] == str(WINDOW_END)
        assert "Retry-After" not in response.headers


async def test_rate_limit_headers_are_absent_without_a_key(
    client: httpx.AsyncClient, tenant: object
) -> None:
    response = await client.get("/api/monitors")

    assert response.status_code == 401
    assert "X-RateLimit-Limit" not in response.headers


async def test_rate_limit_counts_concurrent_requests_exactly(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, settings: Settings
) -> None:
    free = await make_tenant(store, clock, "tiny", "FREE")
    async with _api_process(store, clock, settings) as second:
        responses = await asyncio.gather(
            *(
                (client if n % 2 else second).get("/api/organization", headers=free.headers)
                for n in range(61)
            )
        )

    statuses = [r.status_code for r in responses]
    assert (statuses.count(200), statuses.count(429)) == (60, 1)
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in responses)
    assert remaining == [0, *range(60)]
