"""``vigil status``: the table rendered alone, and a real two-region fleet read from the store."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.base import new_id
from store.db import Store
from store.fleet_status import DownMonitor, FleetStatus, RegionStatus, render
from store.models import Incident, Monitor
from store.models import Worker as WorkerRow
from tests.workers.seed import add_monitors
from tests.workers.test_fleet import _wait_until, worker_processes

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_render_lists_regions_backlog_and_down_monitors() -> None:
    text = render(
        FleetStatus(
            at=AT,
            regions=[
                RegionStatus("eu-west-1", 2, pending=0, lateness_s=0.0),
                RegionStatus("ap-south-1", 0, pending=3, lateness_s=300.0),
            ],
            outbox_pending=4,
            outbox_failed=1,
            oldest_pending_s=90.0,
            down=[
                DownMonitor("acme", "mon_1", "Checkout", AT - timedelta(minutes=7), ("eu-west-1",))
            ],
        )
    )
    lines = text.splitlines()
    assert lines[0] == "Vigil fleet at 2026-03-01T12:00:00+00:00"
    assert lines[3].split() == ["eu-west-1", "2", "0", "0s"]
    assert lines[4].split()[:4] == ["ap-south-1", "0", "3", "5m"]
    assert lines[4].endswith("<- no live worker")
    assert "Alert outbox: 4 pending (oldest 90s), 1 failed" in lines
    assert lines[-1].split() == ["acme", "mon_1", "Checkout", "7m", "eu-west-1"]


def test_render_without_known_counts_shows_dashes() -> None:
    text = render(
        FleetStatus(
            at=AT,
            regions=[RegionStatus("us-east-1", 1, pending=None, lateness_s=None)],
            outbox_pending=None,
            outbox_failed=None,
            oldest_pending_s=None,
            down=[],
        )
    )
    assert text.splitlines()[3].split() == ["us-east-1", "1", "-", "-"]
    assert "Alert outbox: - pending (oldest -), - failed" in text
    assert text.endswith("Monitors down: none")


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_vigil_status_on_a_two_region_fleet(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    # Monitors of a region nobody runs, overdue by minutes, and one monitor down.
    await add_monitors(
        store, 3, url="http://127.0.0.1:9/", now=now - timedelta(minutes=5), regions=("ap-south-1",)
    )
    (down_id,) = await add_monitors(
        store, 1, url="http://127.0.0.1:9/", now=now, interval_s=3600, regions=("eu-west-1",)
    )
    async with store.transaction() as session:
        monitor = await session.get(Monitor, down_id)
        assert monitor is not None
        session.add(
            Incident(
                id=new_id("inc"),
                org_id=monitor.org_id,
                monitor_id=down_id,
                started_at=now - timedelta(minutes=3),
                cause="Connection refused",
                regions=["eu-west-1"],
                is_active=True,
            )
        )
    (tmp_path / "us").mkdir()
    async with (
        worker_processes(database_url, tmp_path, 1, region="eu-west-1"),
        worker_processes(database_url, tmp_path / "us", 1, region="us-east-1"),
    ):

        async def both_registered() -> bool:
            async with store.sessions() as s:
                return (await s.scalar(select(func.count()).select_from(WorkerRow))) == 2

        await _wait_until(both_registered, within_s=30, what="two workers")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "workers.cli", "status"),
            env={**os.environ, "VIGIL_DATABASE_URL": database_url},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    rows = {line.split()[0]: line for line in out.decode().splitlines() if line[:1].isalpha()}
    assert rows["eu-west-1"].split()[1] == "1"
    assert rows["us-east-1"].split()[1] == "1"
    ap = rows["ap-south-1"].split()
    assert ap[1:3] == ["0", "3"], rows["ap-south-1"]
    assert rows["ap-south-1"].endswith("<- no live worker")
    assert "Monitors down (1):" in out.decode()
    assert down_id in out.decode()
