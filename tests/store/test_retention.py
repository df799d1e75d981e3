"""Retention keeps exactly the configured days; the partition migration keeps every row."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from store.db import Store, sync_url
from store.migrate import upgrade
from store.models import CheckResult
from store.retention import (
    apply_retention,
    create_partition,
    cutoff,
    is_partitioned,
    partitions,
)
from store.rollup_models import HIST_COLUMNS, PHASE_BINS_KEEP_DAYS
from store.rollups import BINS, HOURLY
from tests.conftest import PG_SERVER, _conninfo
from tests.store.history import nums_of, write_history
from tests.workers.seed import add_monitors

NOW = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
US = timedelta(microseconds=1)


async def _times(store: Store) -> list[datetime]:
    async with store.sessions() as s:
        return list(await s.scalars(select(CheckResult.checked_at).order_by("checked_at")))


async def test_retention_keeps_exactly_the_configured_days(store: Store) -> None:
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=NOW - timedelta(days=60))
    edge = cutoff(NOW, 30)
    empty = dict.fromkeys(HIST_COLUMNS, 0)
    assert edge == datetime(2026, 3, 1, tzinfo=UTC)
    # Every 6 hours for 40 days, and one row each side of the edge.
    start = NOW - timedelta(days=40)
    written = await write_history(store, mid, start=start, end=NOW, every=timedelta(hours=6))
    await write_history(store, mid, start=edge - US, end=edge + US, every=US)
    async with store.transaction() as s:
        await s.execute(
            insert(HOURLY),
            [
                {"monitor_id": mid, "region": "old", "bucket_at": at, **empty}
                for at in (cutoff(NOW, 400) - timedelta(hours=1), cutoff(NOW, 400))
            ],
        )
        num = (await nums_of(s, mid))[mid]
        bins_edge = cutoff(NOW, PHASE_BINS_KEEP_DAYS)
        # Phase 0, bucket 0 (dns under 1 ms): the history above has none.
        await s.execute(
            insert(BINS),
            [
                {
                    "monitor_num": num,
                    "bucket_at": at,
                    "phase": 0,
                    "bin": 0,
                    "n": 1,
                    "lo": 0.5,
                    "hi": 0.5,
                }
                for at in (bins_edge - timedelta(hours=1), bins_edge)
            ],
        )

    done = await apply_retention(store, now=NOW, days=30)

    left = await _times(store)
    assert left[0] == edge  # the row a microsecond older went
    assert all(t >= edge for t in left)
    assert len(left) == 1 + sum(1 for i in range(written) if start + i * timedelta(hours=6) >= edge)
    async with store.sessions() as s:
        old = list(await s.scalars(select(HOURLY.c.bucket_at).where(HOURLY.c.region == "old")))
    assert old == [cutoff(NOW, 400)]
    assert done.hourly_deleted == 1
    async with store.sessions() as s:
        bins = list(await s.execute(select(BINS.c.bucket_at, BINS.c.bin)))
    assert min(at for at, _ in bins) == bins_edge
    assert [at for at, k in bins if k == 0] == [bins_edge]
    # Every 6 hours, 5 phases (one bucket each) since the edge.
    assert len(bins) == 1 + 5 * sum(
        1 for i in range(written) if start + i * timedelta(hours=6) >= bins_edge
    )
    # A second pass has nothing left to do.
    again = await apply_retention(store, now=NOW, days=30)
    assert (again.results_deleted, again.partitions_dropped) == (0, 0)
    assert await _times(store) == left


@pytest.fixture
async def fresh_pg_store() -> AsyncIterator[Store]:
    """A store on a database of its own, as migrated: the shared test database keeps the
    day partitions earlier tests' housekeeping made or dropped."""
    name = f"vigil_ret_{secrets.token_hex(4)}"
    admin = _conninfo(PG_SERVER)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(sync_url(PG_SERVER)).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    store = Store(url)
    yield store
    await store.close()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres_only
async def test_retention_drops_whole_day_partitions_on_postgresql(
    database_url: str, fresh_pg_store: Store
) -> None:
    store = fresh_pg_store
    now = datetime.now(UTC)
    async with store.sessions() as s:
        assert await is_partitioned(s)
    (mid,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=now - timedelta(days=9))
    # Housekeeping ran then: the days 9 to 6 back have partitions of their own (the rest
    # land in the default partition, and housekeeping creating theirs takes them over).
    async with store.sessions() as s:
        have = await partitions(s)
    for back in range(9, 5, -1):
        day = (now - timedelta(days=back)).date()
        if day not in have:
            async with store.transaction() as s:
                await create_partition(s, day)
    await write_history(
        store, mid, start=now - timedelta(days=9), end=now, every=timedelta(hours=1)
    )
    before = await _times(store)

    done = await apply_retention(store, now=now, days=5)

    async with store.sessions() as s:
        days = sorted(await partitions(s))
    edge = cutoff(now, 5)
    assert days[0] == edge.date()
    assert days[-1] == (edge + timedelta(days=5 + 3)).date()
    assert done.partitions_dropped == 4
    assert await _times(store) == [t for t in before if t >= edge]


@pytest.fixture
def pg_at_0006() -> Iterator[str]:
    """A fresh PostgreSQL database migrated to 0006 only."""
    name = f"vigil_mig_{secrets.token_hex(4)}"
    admin = _conninfo(PG_SERVER)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(sync_url(PG_SERVER)).set(database=name).render_as_string(hide_password=False)
    upgrade(url, "0006")
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres_only
def test_partition_migration_on_a_populated_table_loses_no_row(
    database_url: str, pg_at_0006: str
) -> None:
    conn = psycopg.connect(_conninfo(pg_at_0006), autocommit=True)
    conn.execute("INSERT INTO organizations VALUES ('org_1', 'Acme', 'acme', 'FREE', now(), now())")
    conn.execute(
        "INSERT INTO monitors (id, org_id, name, url, type, interval_s, is_active, method, "
        "timeout_s, regions, config, failure_threshold, recovery_threshold, region_quorum, "
        "created_at, updated_at) VALUES ('mon_1', 'org_1', 'site', 'http://x/', 'HTTP', 60, "
        "true, 'GET', 30, '[]', '{}', 2, 1, 1, now(), now())"
    )
    # 20 days of results up to today, with JSON details, JSON null and SQL NULL.
    conn.execute(
        "INSERT INTO check_results (monitor_id, region, status, checked_at, total_ms, details) "
        "SELECT 'mon_1', 'local', CASE WHEN g % 7 = 0 THEN 'DOWN' ELSE 'UP' END, "
        "now() - g * interval '17 minutes', g * 0.5, "
        "CASE g % 3 WHEN 0 THEN jsonb_build_object('latenessMs', 12.6) "
        "WHEN 1 THEN 'null'::jsonb END FROM generate_series(1, 1700) g"
    )
    before = conn.execute(
        "SELECT id, monitor_id, status, checked_at, total_ms FROM check_results ORDER BY id"
    ).fetchall()
    last_id = before[-1][0]
    conn.close()

    upgrade(pg_at_0006, "0010")

    conn = psycopg.connect(_conninfo(pg_at_0006), autocommit=True)
    after = conn.execute(
        "SELECT id, monitor_id, status, checked_at, total_ms FROM check_results ORDER BY id"
    ).fetchall()
    assert [r[:4] for r in after] == [r[:4] for r in before]
    assert [float(r[4]) for r in after] == [float(r[4]) for r in before]  # n * 0.5 fits a real
    parts = conn.execute(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'check_results'::regclass"
    ).fetchone()
    assert parts is not None and parts[0] >= 20
    nulls = conn.execute(
        "SELECT count(*) FILTER (WHERE details IS NULL), count(lateness_ms) FROM check_results"
    ).fetchone()
    assert nulls == (1700 - 566, 566)
    # New rows keep numbering after the old ones.
    conn.execute(
        "INSERT INTO check_results (monitor_id, region, status, checked_at) "
        "VALUES ('mon_1', 'local', 'UP', now())"
    )
    new_id = conn.execute("SELECT max(id) FROM check_results").fetchone()
    assert new_id is not None and new_id[0] == last_id + 1
    before = conn.execute(
        "SELECT id, monitor_id, status, checked_at, total_ms, details, lateness_ms "
        "FROM check_results ORDER BY id"
    ).fetchall()
    conn.close()

    # Then the integer monitor key (0016): the partitions rebuilt, every row kept.
    upgrade(pg_at_0006)

    conn = psycopg.connect(_conninfo(pg_at_0006), autocommit=True)
    after = conn.execute(
        "SELECT r.id, m.id, r.status, r.checked_at, r.total_ms, r.details, r.lateness_ms "
        "FROM check_results r JOIN monitors m ON m.num = r.monitor_num ORDER BY r.id"
    ).fetchall()
    assert after == before and len(after) == 1701
    parts_after = conn.execute(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'check_results'::regclass"
    ).fetchone()
    assert parts_after == parts
    conn.execute(
        "INSERT INTO check_results (monitor_num, region, status, checked_at) "
        "SELECT num, 'local', 'UP', now() FROM monitors"
    )
    newer = conn.execute("SELECT max(id) FROM check_results").fetchone()
    assert newer is not None and newer[0] == last_id + 2
    conn.close()
