"""``/api/monitors/:id/uptime``, ``/sla`` and the performance endpoint past 24 h."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import httpx

from checks.base import Timings
from store.clock import FrozenClock
from store.db import Store
from store.results import record_results
from store.rollup_models import HIST_ERROR
from store.uptime import percent
from tests.api.conftest import Tenant
from tests.api.helpers import create_monitor
from tests.store.history import add_incident, item, write_history

EVERY = timedelta(minutes=10)


async def _three_days(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> tuple[str, int]:
    """A monitor created 3 days ago (Feb 26 12:00), checked since, down for one hour."""
    now = clock.now()  # 2026-03-01 12:00 UTC
    clock.set(now - timedelta(days=3))
    monitor_id = await create_monitor(client, tenant)
    clock.set(now)
    outage = (now - timedelta(days=2), now - timedelta(days=2) + timedelta(hours=1))
    written = await write_history(
        store,
        monitor_id,
        start=now - timedelta(days=3),
        end=now,
        every=EVERY,
        status_at=lambda at: "DOWN" if outage[0] <= at < outage[1] else "UP",
    )
    await add_incident(store, monitor_id, start=outage[0], end=outage[1])
    return monitor_id, written


async def test_uptime_both_ways_with_no_data_before_the_monitor_existed(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id, written = await _three_days(client, tenant, store, clock)

    r = await client.get(f"/api/monitors/{monitor_id}/uptime?period=7d", headers=tenant.headers)

    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["period"] == "7d"
    assert (data["from"], data["to"]) == ("2026-02-22T12:00:00.000Z", "2026-03-01T12:00:00.000Z")
    assert data["noDataSeconds"] == 4 * 86400
    assert data["observedSeconds"] == 3 * 86400
    assert data["downtimeSeconds"] == 3600
    assert data["uptimeByTime"] == percent(3 * 86400 - 3600, 3 * 86400) == 98.611
    assert data["checks"] == {"total": written, "up": written - 6, "degraded": 0, "down": 6}
    assert data["uptimeByChecks"] == percent(written - 6, written)
    assert data["incidents"] == 1
    daily = data["daily"]
    assert [d["date"] for d in daily][:2] == ["2026-02-22", "2026-02-23"]
    assert len(daily) == 8
    assert [d["worstStatus"] for d in daily] == ["NO_DATA"] * 4 + ["UP", "DOWN", "UP", "UP"]
    assert daily[5] | {"checks": 0} == {
        "date": "2026-02-27",
        "uptime": percent(86400 - 3600, 86400),
        "uptimeByChecks": percent(138, 144),
        "downtimeSeconds": 3600,
        "maintenanceSeconds": 0,
        "noDataSeconds": 0,
        "worstStatus": "DOWN",
        "incidents": 1,
        "checks": 0,
    }


async def test_uptime_rejects_an_unknown_period(client: httpx.AsyncClient, tenant: Tenant) -> None:
    monitor_id = await create_monitor(client, tenant)
    r = await client.get(f"/api/monitors/{monitor_id}/uptime?period=2w", headers=tenant.headers)
    assert r.status_code == 400
    assert r.json()["fields"] == [
        {"field": "period", "issue": "must be one of 24h, 7d, 30d, 90d, 365d"}
    ]


async def test_sla_per_calendar_month_with_the_error_budget(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id, _ = await _three_days(client, tenant, store, clock)

    r = await client.get(
        f"/api/monitors/{monitor_id}/sla?target=99.9&months=2", headers=tenant.headers
    )

    assert r.status_code == 200, r.text
    feb, mar = r.json()["data"]["months"]
    # February: observed from Feb 26 12:00 to Mar 1 = 3,600 min; 0.1 % of it is allowed.
    assert (feb["month"], feb["complete"], feb["met"]) == ("2026-02", True, False)
    assert feb["uptime"] == percent(216_000 - 3600, 216_000)
    assert feb["errorBudget"] == {
        "allowedMinutes": 3.6,
        "usedMinutes": 60.0,
        "remainingMinutes": -56.4,
    }
    assert (mar["month"], mar["complete"], mar["met"], mar["uptime"]) == (
        "2026-03",
        False,
        True,
        100.0,
    )
    assert mar["errorBudget"] == {
        "allowedMinutes": 0.72,
        "usedMinutes": 0.0,
        "remainingMinutes": 0.72,
    }


async def test_sla_rejects_a_target_of_100_and_too_many_months(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor_id = await create_monitor(client, tenant)
    r = await client.get(
        f"/api/monitors/{monitor_id}/sla?target=100&months=99", headers=tenant.headers
    )
    assert r.status_code == 400
    assert [f["field"] for f in r.json()["fields"]] == ["target", "months"]
    ok = await client.get(
        f"/api/monitors/{monitor_id}/sla?target=99.99&months=36", headers=tenant.headers
    )
    assert ok.status_code == 200


async def test_performance_past_a_day_averages_the_rollups_like_the_raw_rows(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id, written = await _three_days(client, tenant, store, clock)

    r = await client.get(
        f"/api/monitors/{monitor_id}/performance?hours=168", headers=tenant.headers
    )

    data = r.json()["data"]
    assert data["sampleCount"] == written - 6  # DOWN checks are left out
    assert data["averages"] == {
        "dns": 1.0,
        "tcp": 2.0,
        "tls": 3.0,
        "ttfb": 32.0,
        "download": 4.0,
        "total": 42.0,
        "size": 100,
    }
    assert len(data["timeSeries"]) == 72 - 1  # hourly; the outage hour has no point
    assert data["timeSeries"][0]["timestamp"] == "2026-02-26T12:00:00.000Z"
    # p95 of every phase, as the contract has it, from the histograms: a bucket's
    # reading is kept between its smallest and largest time, so a steady phase is exact.
    assert data["p95"] == {
        "dns": 1.0,
        "tcp": 2.0,
        "tls": 3.0,
        "ttfb": 32.0,
        "download": 4.0,
        "total": 42.0,
    }


async def test_performance_p95_past_a_day_is_within_the_histograms_stated_error(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    now = clock.now()
    clock.set(now - timedelta(days=3))
    monitor_id = await create_monitor(client, tenant)
    clock.set(now)
    rng = random.Random(3)
    # Spread phases (a few ms to seconds), a result every 10 minutes for 3 days.
    shapes = {"dns": (1.5, 0.8), "tcp": (2.0, 0.3), "tls": (3.0, 1.2), "ttfb": (5.0, 1.0)}
    batch, seen = [], {p: [] for p in (*shapes, "download", "total")}
    for i in range(3 * 24 * 6):
        phases = {p: rng.lognormvariate(*shape) for p, shape in shapes.items()}
        phases["download"] = rng.uniform(2, 40)
        phases["total"] = sum(phases.values())
        for p, value in phases.items():
            seen[p].append(value)
        at = now - timedelta(days=3) + i * EVERY
        batch.append(item(monitor_id, "UP", at=at, timings=Timings(**phases)))
    async with store.transaction() as session:
        await record_results(session, batch)

    r = await client.get(
        f"/api/monitors/{monitor_id}/performance?hours=168", headers=tenant.headers
    )

    p95 = r.json()["data"]["p95"]
    for phase, values in seen.items():
        exact = sorted(values)[math.ceil(0.95 * len(values)) - 1]
        # Rounded to 0.1 ms on the way out.
        assert abs(p95[phase] - exact) <= HIST_ERROR * exact + 0.05, (phase, p95[phase], exact)
