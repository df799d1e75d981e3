from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from store.db import Store
from store.models import Worker
from store.workers_registry import (
    RegionLiveness,
    live_regions,
    live_workers,
    prune_stale_workers,
    register_worker,
    touch_worker,
    unregister_worker,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _register(store: Store, worker_id: str, region: str, *, at: datetime) -> None:
    async with store.transaction() as s:
        await register_worker(
            s, worker_id, region=region, host="node-1", pid=4242, version="0.1.0", now=at
        )


async def test_live_regions_counts_workers_seen_within_the_stale_window(store: Store) -> None:
    await _register(store, "eu-1", "eu-west", at=T0)
    await _register(store, "eu-2", "eu-west", at=T0 + timedelta(seconds=5))
    await _register(store, "us-1", "us-east", at=T0)
    await _register(store, "ap-dead", "ap-south", at=T0 - timedelta(minutes=5))
    # Listed while seen within STALE_AFTER_S (12 s): eu-1 and us-1 were seen 10 s ago.
    now = T0 + timedelta(seconds=10)

    async with store.sessions() as s:
        regions = await live_regions(s, now=now)
        workers = await live_workers(s, now=now)

    assert regions == [
        RegionLiveness("eu-west", 2, T0 + timedelta(seconds=5), healthy_count=2),
        RegionLiveness("us-east", 1, T0, healthy_count=1),
    ]
    assert [(w.id, w.host, w.pid, w.version) for w in workers] == [
        ("eu-1", "node-1", 4242, "0.1.0"),
        ("eu-2", "node-1", 4242, "0.1.0"),
        ("us-1", "node-1", 4242, "0.1.0"),
    ]


async def test_prune_stale_workers_removes_only_silent_ones(store: Store) -> None:
    await _register(store, "alive", "eu-west", at=T0)
    await _register(store, "dead", "eu-west", at=T0)
    now = T0 + timedelta(seconds=90)
    async with store.transaction() as s:
        assert await touch_worker(s, "alive", now=now)
        assert await prune_stale_workers(s, now=now) == 1
        assert not await touch_worker(s, "dead", now=now)

    async with store.transaction() as s:
        await unregister_worker(s, "alive")
        assert (await s.scalars(select(Worker.id))).all() == []
