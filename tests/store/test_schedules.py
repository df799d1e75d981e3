from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select

from store.db import Store
from store.models import MonitorSchedule
from tests.workers.seed import add_monitors

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_sync_schedules_spreads_first_runs_over_the_interval(store: Store) -> None:
    await add_monitors(store, 600, url="http://127.0.0.1:9/", now=T0, interval_s=60)

    async with store.sessions() as s:
        firsts = (await s.scalars(select(MonitorSchedule.next_run_at))).all()

    offsets = [(f - T0).total_seconds() for f in firsts]
    assert all(0 <= o < 60 for o in offsets)
    per_second = Counter(int(o) for o in offsets)
    # 10 a second on average; all in one second would be 600.
    assert len(per_second) >= 55
    assert max(per_second.values()) <= 30
