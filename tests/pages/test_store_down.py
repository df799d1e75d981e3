"""With the store stopped or slow, a page rendered before is still served, with its age."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from api.main import create_app
from pages.cache import RenderCache, StoreUnavailableError
from store.clock import FrozenClock
from store.db import Store
from store.migrate import upgrade
from tests.api.conftest import make_settings
from tests.pages import scenario
from tests.servers.pg_cluster import PgCluster


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    with PgCluster() as pg:
        upgrade(pg.url)
        yield pg


@pytest.mark.slow
async def test_a_stopped_store_still_serves_the_last_rendering(cluster: PgCluster) -> None:
    store = Store(cluster.url)
    clock = FrozenClock(scenario.NOW)
    settings = make_settings(status_page_fresh_s=0, status_page_timeout_s=5)
    app = create_app(settings, store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://vigil.test") as web:
            await scenario.build(web, store, clock)
            fresh = await web.get("/status/acme")
            summary = await web.get("/status/acme/api/v2/summary.json")
            assert fresh.status_code == summary.status_code == 200
            assert "Live status is unavailable" not in fresh.text

            await asyncio.to_thread(cluster.stop)
            page = await web.get("/status/acme")
            kept = await web.get("/status/acme/api/v2/summary.json")
            never = await web.get("/status/acme/feed.atom")

        assert page.status_code == 200
        assert "Live status is unavailable right now; this is the page as it was" in page.text
        assert "<h1>Acme status</h1>" in page.text
        assert page.headers["cache-control"] == "no-cache" and "age" in page.headers
        assert (kept.status_code, kept.content) == (200, summary.content)
        assert never.status_code == 503 and never.json()["code"] == "unavailable"
    finally:
        await store.close()


async def test_a_slow_store_is_answered_from_the_kept_rendering_at_the_deadline() -> None:
    now = [100.0]
    cache = RenderCache(timeout_s=0.05, fresh_s=0, clock=lambda: now[0])
    never = asyncio.Event()

    async def good() -> tuple[bytes, str]:
        return b"v1", "text/plain"

    async def hangs() -> tuple[bytes, str]:
        await never.wait()
        return b"v2", "text/plain"

    first = await cache.get("k", good)
    now[0] = 190.0
    slow = await cache.get("k", hangs)

    assert first is not None and first.stale_age_s is None
    assert slow is not None and slow.rendering.body == b"v1"
    assert slow.stale_age_s == 90.0


async def test_with_nothing_kept_a_failing_store_is_unavailable() -> None:
    cache = RenderCache(timeout_s=0.05, fresh_s=0, clock=lambda: 0.0)

    async def fails() -> tuple[bytes, str]:
        raise OSError("connection refused")

    with pytest.raises(StoreUnavailableError, match="connection refused"):
        await cache.get("k", fails)


async def test_a_fresh_rendering_is_served_without_asking_the_store() -> None:
    now = [0.0]
    cache = RenderCache(timeout_s=1, fresh_s=10, clock=lambda: now[0])
    calls: list[int] = []

    async def produce() -> tuple[bytes, str]:
        calls.append(1)
        return f"v{len(calls)}".encode(), "text/plain"

    await cache.get("k", produce)
    now[0] = 9.99
    within = await cache.get("k", produce)
    now[0] = 10.0
    after = await cache.get("k", produce)

    assert within is not None and within.rendering.body == b"v1"
    assert after is not None and after.rendering.body == b"v2"
    assert len(calls) == 2
