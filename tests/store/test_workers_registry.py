"""A dead worker stops being listed within 15 s: seen every 3 s, listed for 12 s."""

from __future__ import annotations

from datetime import timedelta

from store.clock import FrozenClock
from store.db import Store
from store.workers_registry import HEARTBEAT_EVERY_S, live_workers, register_worker


async def test_worker_is_listed_for_12_s_after_it_was_last_seen(
    store: Store, clock: FrozenClock
) -> None:
    seen = clock.now()
    async with store.transaction() as session:
        await register_worker(
            session, "local/h/1/abc", region="local", host="h", pid=1, version="1", now=seen
        )
    assert HEARTBEAT_EVERY_S == 3.0
    for after, listed in [
        (timedelta(seconds=12), True),
        (timedelta(seconds=12, milliseconds=1), False),
    ]:
        async with store.transaction() as session:
            found = await live_workers(session, now=seen + after)
        assert [w.id for w in found] == (["local/h/1/abc"] if listed else []), after
