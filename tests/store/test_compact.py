"""Plain UP results store no JSON; the API shows the same check shape."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from api.serialize import check_json
from store.db import Store
from store.models import CheckResult
from store.results import record_results
from store.rollups import DAILY, HOURLY
from tests.store.history import item, nums_of
from tests.workers.seed import add_monitors

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


async def test_only_a_plain_up_result_drops_its_details(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
    statuses = ["UP", "UP", "DOWN", "UP", "DEGRADED", "UP", "UP"]
    for n, status in enumerate(statuses):
        async with store.transaction() as s:
            at = T0 + timedelta(minutes=n)
            await record_results(s, [item(mid, status, at=at, lateness_ms=12.4 + n)])

    async with store.sessions() as s:
        rows = (await s.scalars(select(CheckResult).order_by(CheckResult.checked_at))).all()

    kept = [r.details is not None for r in rows]
    # The first (no previous status), the changes, the failure and DEGRADED keep theirs.
    assert kept == [True, False, True, True, True, True, False]
    assert [r.lateness_ms for r in rows] == [12, 13, 14, 15, 16, 17, 18]
    plain = check_json(rows[1], mid)
    assert plain["details"] == {
        "latenessMs": 13.0,
        "scheduledAt": "2026-03-10T09:00:59.987Z",
    }
    assert set(plain) == set(check_json(rows[2], mid))
    assert check_json(rows[2], mid)["details"]["resolvedIp"] == "127.0.0.1"


def test_vigil_rollup_backfill_builds_the_rollups_from_raw_rows(database_url: str) -> None:
    async def seed() -> str:
        store = Store(database_url)
        (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
        async with store.transaction() as s:
            num = (await nums_of(s, mid))[mid]
            # Rows written without the writer (as before rollups existed).
            await s.execute(
                insert(CheckResult),
                [
                    {
                        "monitor_num": num,
                        "region": "local",
                        "status": "UP" if n % 4 else "DOWN",
                        "checked_at": T0 + timedelta(minutes=20 * n),
                        "total_ms": 10.0 * n,
                    }
                    for n in range(12)
                ],
            )
        await store.close()
        return mid

    async def rollups() -> list[tuple[object, ...]]:
        store = Store(database_url)
        async with store.sessions() as s:
            rows = [
                tuple(r)
                for t in (HOURLY, DAILY)
                for r in await s.execute(
                    select(t.c.bucket_at, t.c.checks, t.c.down, t.c.total_sum).order_by(
                        t.c.bucket_at
                    )
                )
            ]
        await store.close()
        return rows

    asyncio.run(seed())
    command = [sys.executable, "-m", "workers.cli", "--database-url", database_url, "rollup"]
    for _ in range(2):
        done = subprocess.run(
            [*command, "--backfill"], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "rollups rebuilt from 12 raw results"
        want = []
        for h in range(4):
            ns = range(3 * h, 3 * h + 3)
            ups = [10.0 * n for n in ns if n % 4]
            want.append((T0 + timedelta(hours=h), 3, 3 - len(ups), sum(ups)))
        ups = [10.0 * n for n in range(12) if n % 4]
        want.append((T0.replace(hour=0), 12, 12 - len(ups), sum(ups)))
        assert asyncio.run(rollups()) == want
    bad = subprocess.run(
        [*command, "--backfill", "--since", "last tuesday"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "--since 'last tuesday' is not a date" in bad.stderr


async def test_a_result_weeks_late_is_written_with_its_lateness_capped(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)
    late = item(mid, "UP", at=T0, lateness_ms=30 * 86_400_000.0)
    async with store.transaction() as s:
        await record_results(s, [late])
    async with store.sessions() as s:
        (row,) = (await s.scalars(select(CheckResult))).all()
    assert row.lateness_ms == 2**31 - 1
