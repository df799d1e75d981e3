"""Workers of several regions evaluating one monitor at the same instant, on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from alerting.flapping import MAX_THRESHOLD
from store.clock import FrozenClock
from store.db import Store
from tests.alerting.helpers import (
    count_active,
    incidents,
    make_channel,
    make_monitor,
    make_org,
    outbox,
    record,
)

REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]


@pytest.mark.postgres_only
async def test_concurrent_regions_never_double_incidents_or_alerts(
    store: Store, clock: FrozenClock
) -> None:
    rng = random.Random(20261122)
    org = await make_org(store, clock)
    channels = [await make_channel(store, clock, org) for _ in range(2)]
    # Every state change must page here: flapping detection (tests/alerting/test_flapping.py)
    # would hold most of this random walk's alerts back.
    monitors = [
        await make_monitor(
            store,
            clock,
            org,
            regions=REGIONS,
            region_quorum=q,
            failure_threshold=t,
            flap_threshold=MAX_THRESHOLD,
        )
        for q, t in [(1, 1), (2, 2), (1, 2)]
    ]
    for _ in range(200):
        # Outages come and go together across regions, with noise.
        p_down = rng.choice([0.05, 0.5, 0.95])
        calls = [
            record(
                store,
                clock,
                m,
                "DOWN" if rng.random() < p_down else "UP",
                region=r,
                error="Connection refused",
            )
            for m in monitors
            for r in REGIONS
        ]
        rng.shuffle(calls)
        await asyncio.gather(*calls)
        for m in monitors:
            assert await count_active(store, m.id) <= 1
        clock.advance(30)

    rows = await outbox(store)
    per_change = Counter((r.incident_id, r.event_type, r.channel_id) for r in rows)
    assert per_change and max(per_change.values()) == 1, "an alert was sent twice"
    total_incidents = 0
    for m in monitors:
        found = await incidents(store, m.id)
        total_incidents += len(found)
        for inc in found:
            for channel in channels:
                assert per_change[(inc.id, "monitor.down", channel)] == 1
                assert per_change[(inc.id, "monitor.up", channel)] == (0 if inc.is_active else 1)
    assert total_incidents >= 10, "the random walk should produce several outages"
