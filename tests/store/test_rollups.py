"""Rollups kept by the writer equal a recomputation from raw results; backfill; p95."""

from __future__ import annotations

import asyncio
import bisect
import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from store.db import Store
from store.models import CheckResult, Monitor
from store.results import record_results
from store.rollup_models import BIN_PHASES, HIST_BUCKETS, HIST_COLUMNS, HIST_ERROR, PHASES
from store.rollups import BINS, DAILY, HOURLY, backfill, percentile
from tests.store.history import add_window, item
from tests.workers.seed import add_monitors

T0 = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")
# Bucket k >= 1 starts at 1.25 ** (k - 1) ms: computed here independently of the code.
EDGES = [1.25 ** (k - 1) for k in range(1, HIST_BUCKETS)]


def _expected(raw: list[dict[str, Any]], level: str) -> dict[tuple[str, str, datetime], dict]:
    out: dict[tuple[str, str, datetime], dict[str, Any]] = {}
    for r in raw:
        at = r["checked_at"].astimezone(UTC)
        bucket = at.replace(minute=0, second=0, microsecond=0)
        if level == "daily":
            bucket = bucket.replace(hour=0)
        row = out.setdefault(
            (r["monitor_id"], r["region"], bucket), defaultdict(float, total_min=None)
        )
        row["checks"] += 1
        row[r["status"].lower()] += 1
        row["hours_mask"] = int(row["hours_mask"]) | 1 << at.hour
        if r["status"] == "DOWN":
            continue
        for p in PHASES:
            if r[f"{p}_ms"] is not None:
                row[f"{p}_sum"] += r[f"{p}_ms"]
                row[f"{p}_count"] += 1
        row["size_sum"] += r["size_bytes"]
        total = r["total_ms"]
        row[HIST_COLUMNS[bisect.bisect_right(EDGES, total)]] += 1
        row["total_min"] = total if row["total_min"] is None else min(row["total_min"], total)
        row["total_max"] = max(row["total_max"], total)
    return out


def _expected_bins(raw: list[dict[str, Any]]) -> dict[tuple[int, datetime, int, int], Any]:
    """(count, smallest, largest) per (monitor, hour, phase, bucket) of non-DOWN checks."""
    times: dict[tuple[int, datetime, int, int], list[float]] = defaultdict(list)
    for r in raw:
        if r["status"] == "DOWN":
            continue
        hour = r["checked_at"].astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        for phase, name in enumerate(BIN_PHASES):
            value = r[f"{name}_ms"]
            times[(r["monitor_num"], hour, phase, bisect.bisect_right(EDGES, value))].append(value)
    return {key: (len(v), min(v), max(v)) for key, v in times.items()}


async def _compare(store: Store) -> None:
    async with store.sessions() as s:
        raw = [
            dict(r._mapping)
            for r in await s.execute(
                select(CheckResult.__table__, Monitor.id.label("monitor_id")).join(
                    Monitor, Monitor.num == CheckResult.monitor_num
                )
            )
        ]
        for level, table in (("hourly", HOURLY), ("daily", DAILY)):
            stored = {
                (r.monitor_id, r.region, r.bucket_at): r._mapping
                for r in await s.execute(select(table))
            }
            expected = _expected(raw, level)
            assert set(stored) == set(expected), level
            for key, want in expected.items():
                got = stored[key]
                for name in ("checks", "up", "degraded", "down", "hours_mask", *HIST_COLUMNS):
                    assert got[name] == want[name], (level, key, name)
                for p in PHASES:
                    assert math.isclose(got[f"{p}_sum"], want[f"{p}_sum"], abs_tol=1e-6)
                    assert got[f"{p}_count"] == want[f"{p}_count"]
                assert (got["total_min"], got["total_max"]) == (
                    want["total_min"],
                    want["total_max"] or None,
                )
        bins = {
            (r.monitor_num, r.bucket_at, r.phase, r.bin): (r.n, r.lo, r.hi)
            for r in await s.execute(select(BINS))
        }
        assert bins == _expected_bins(raw)


async def test_rollups_equal_raw_after_concurrent_writers_and_after_backfills(
    store: Store,
) -> None:
    monitors = await add_monitors(store, 4, url="http://127.0.0.1:9/", now=T0, regions=REGIONS)
    rng = random.Random(11)

    async def worker(region: str, seed: int) -> None:
        local = random.Random(seed)
        # Three hours across midnight, a batch every 10 minutes, every monitor each time.
        for minute in range(0, 180, 10):
            at = T0 + timedelta(minutes=minute, seconds=local.randint(0, 59))
            batch = [
                item(
                    m,
                    local.choices(["UP", "DEGRADED", "DOWN"], [8, 1, 1])[0],
                    at=at,
                    region=region,
                    total=local.lognormvariate(4, 1),
                )
                for m in monitors
            ]
            async with store.transaction() as s:
                await record_results(s, batch)

    # Two workers per region write at once (same buckets, same rows). SQLite has one
    # writer at a time: there they take turns.
    runs = [worker(r, rng.randint(0, 10**6)) for r in REGIONS for _ in range(2)]
    if store.is_postgres:
        await asyncio.gather(*runs)
    else:
        for run in runs:
            await run
    await _compare(store)

    async with store.sessions() as s:
        before = sorted(tuple(r) for r in await s.execute(select(HOURLY)))
    async with store.transaction() as s:
        await backfill(s)
    await _compare(store)
    async with store.transaction() as s:
        await backfill(s)
    async with store.sessions() as s:
        after = sorted(tuple(r) for r in await s.execute(select(HOURLY)))
    assert [r[: -(HIST_BUCKETS + 18)] for r in after] == [r[: -(HIST_BUCKETS + 18)] for r in before]
    await _compare(store)


async def test_checks_inside_a_maintenance_window_are_counted_as_such(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
    async with store.sessions() as s:
        org = (await s.get_one(Monitor, mid)).org_id
    await add_window(
        store, None, org, start=T0 + timedelta(minutes=10), end=T0 + timedelta(minutes=20)
    )
    batch = [item(mid, "DOWN", at=T0 + timedelta(minutes=m)) for m in (9, 10, 19, 20)]
    async with store.transaction() as s:
        await record_results(s, batch)
    async with store.sessions() as s:
        (hour,) = (await s.execute(select(HOURLY.c.checks, HOURLY.c.maintenance))).all()
    assert tuple(hour) == (4, 2)  # 10 and 19 inside [10, 20)
    async with store.transaction() as s:
        await backfill(s)
    async with store.sessions() as s:
        (hour,) = (await s.execute(select(HOURLY.c.checks, HOURLY.c.maintenance))).all()
    assert tuple(hour) == (4, 2)


def test_p95_from_the_histogram_is_within_its_stated_error() -> None:
    rng = random.Random(5)
    for shape in ((3.0, 0.5), (5.0, 1.5), (1.0, 2.0)):
        totals = [rng.lognormvariate(*shape) + 1.0 for _ in range(5000)]
        counts = [0] * HIST_BUCKETS
        for t in totals:
            counts[bisect.bisect_right(EDGES, t)] += 1
        for q in (0.5, 0.95, 0.99):
            exact = sorted(totals)[math.ceil(q * len(totals)) - 1]
            estimate = percentile(counts, q)
            assert estimate is not None
            assert abs(estimate - exact) / exact <= HIST_ERROR, (shape, q, estimate, exact)
    assert HIST_ERROR < 0.12
