"""A failed browser check's screenshot is stored and served as image/png, same org only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select

from alerting.evaluator import Evaluator
from checks.base import CheckContext
from checks.browser_pool import BrowserPool
from store.artifacts import saver_for
from store.clock import FrozenClock
from store.db import Store
from store.models import CheckResult as CheckRow
from store.models import Monitor, monitor_num
from store.results import RecordedResult, record_results
from tests.alerting.helpers import spec
from tests.api.conftest import Tenant
from tests.servers.pages import PageServer, serve_pages

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    with serve_pages() as server:
        yield server


async def test_failed_browser_check_screenshot_is_served_to_its_org_only(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    store: Store,
    clock: FrozenClock,
    site: PageServer,
) -> None:
    steps = [
        {"action": "goto", "url": "/redesigned"},
        {"action": "click", "selector": "#submit", "timeoutMs": 1000},
    ]
    r = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={
            "name": "Login flow",
            "type": "BROWSER",
            "url": site.url("/redesigned"),
            "timeout": 20,
            "config": {"steps": steps},
        },
    )
    assert r.status_code == 201, r.text
    monitor_id = r.json()["data"]["id"]
    async with store.transaction() as session:
        monitor = await session.get(Monitor, monitor_id)
    assert monitor is not None
    target = spec(monitor, "us-east-1")
    target = replace(target, config=monitor.config, timeout_s=20)

    pool = BrowserPool()
    try:
        result = await pool.run_check(
            target, CheckContext(clock=clock, save_artifact=saver_for(store, monitor_id, clock))
        )
    finally:
        await pool.close()
    assert result.status == "DOWN"
    assert result.error == "Step 2 (click '#submit'): element not found within 1 s"
    item = RecordedResult(
        monitor=target,
        region="us-east-1",
        result=result,
        due_at=clock.now(),
        started_at=clock.now(),
    )
    async with store.transaction() as session:
        await record_results(session, [item], on_batch=Evaluator(clock))
        check_id = await session.scalar(
            select(CheckRow.id).where(CheckRow.monitor_num == monitor_num(monitor_id))
        )

    url = f"/api/monitors/{monitor_id}/checks/chk_{check_id}/screenshot"
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(PNG_MAGIC)

    r = await client.get(url, headers=other_tenant.headers)
    assert r.status_code == 404 and r.json()["error"] == "Monitor not found"
    r = await client.get(
        f"/api/monitors/{monitor_id}/checks/chk_999999/screenshot", headers=tenant.headers
    )
    assert r.status_code == 404 and r.json()["error"] == "Check not found"
