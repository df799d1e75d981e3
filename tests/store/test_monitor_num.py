"""``monitors.num``: the integer key raw results carry, assigned by the store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select, text

from store.db import Store
from store.migrate import upgrade
from store.models import Monitor
from tests.workers.seed import add_monitors

T0 = datetime(2026, 3, 10, tzinfo=UTC)
MONITOR_SQL = (
    "INSERT INTO monitors (id, org_id, name, url, type, interval_s, is_active, method, "
    "timeout_s, regions, config, failure_threshold, recovery_threshold, region_quorum, "
    "confirm_other_region, created_at, updated_at) SELECT :id, org_id, 'raw', 'http://x/', "
    "'HTTP', 60, true, 'GET', 30, '[]', '{}', 2, 1, 1, false, created_at, updated_at "
    "FROM monitors WHERE id = :like"
)


async def _nums(store: Store) -> dict[str, int]:
    async with store.sessions() as s:
        return dict((await s.execute(select(Monitor.id, Monitor.num))).all())


async def test_every_insert_gets_a_new_num_and_a_deleted_ones_is_never_reused(
    store: Store,
) -> None:
    a, b = await add_monitors(store, 2, url="http://127.0.0.1:9/", now=T0)
    async with store.transaction() as s:
        # Plain SQL that names no num (a restore script, a bench seed) gets one too.
        await s.execute(text(MONITOR_SQL), {"id": "mon_raw", "like": a})
    first = await _nums(store)
    assert len(set(first.values())) == 3
    assert first[a] < first[b] < first["mon_raw"]

    async with store.transaction() as s:
        await s.execute(delete(Monitor).where(Monitor.id == "mon_raw"))
    (c,) = await add_monitors(store, 1, url="http://127.0.0.1:9/", now=T0)

    after = await _nums(store)
    assert after[c] > first["mon_raw"]
    assert {k: v for k, v in after.items() if k != c} == {a: first[a], b: first[b]}


def test_the_sqlite_migration_keeps_every_result_with_its_monitor(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    upgrade(f"sqlite:///{path}", "0014")
    db = sqlite3.connect(path)
    db.execute("INSERT INTO organizations VALUES ('org_1', 'Acme', 'acme', 'FREE', 0, 0, 1)")
    for n in (1, 2):
        db.execute(
            "INSERT INTO monitors (id, org_id, name, url, type, interval_s, is_active, method, "
            "timeout_s, regions, config, failure_threshold, recovery_threshold, region_quorum, "
            f"created_at, updated_at) VALUES ('mon_{n}', 'org_1', 'site', 'http://x/', 'HTTP', "
            "60, 1, 'GET', 30, '[]', '{}', 2, 1, 1, '2026-03-01', '2026-03-01')"
        )
    db.executemany(
        "INSERT INTO check_results (monitor_id, region, status, checked_at, total_ms, details, "
        "lateness_ms) VALUES (?, 'local', ?, ?, ?, ?, ?)",
        [
            (
                f"mon_{1 + g % 2}",
                "DOWN" if g % 7 == 0 else "UP",
                f"2026-03-{1 + g // 100:02d} 00:{g % 60:02d}:00.000000",
                g * 0.5,
                '{"body": "x"}' if g % 7 == 0 else None,
                g,
            )
            for g in range(500)
        ],
    )
    db.commit()
    columns = "id, status, checked_at, total_ms, details, lateness_ms"
    before = db.execute(f"SELECT {columns}, monitor_id FROM check_results ORDER BY id").fetchall()
    db.close()

    upgrade(f"sqlite:///{path}")

    db = sqlite3.connect(path)
    after = db.execute(
        f"SELECT {', '.join('r.' + c for c in columns.split(', '))}, m.id FROM check_results r "
        "JOIN monitors m ON m.num = r.monitor_num ORDER BY r.id"
    ).fetchall()
    assert after == before and len(after) == 500
    indexes = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'check_results'"
    ).fetchall()
    assert indexes == [("ix_check_results_monitor_num_checked_at",)]
    db.close()
