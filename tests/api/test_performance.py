"""``/api/monitors/:id/performance`` and the public system endpoints."""

from __future__ import annotations

from datetime import timedelta

import httpx

from api.serialize import iso
from store.clock import FrozenClock
from store.db import Store
from store.models import CheckResult
from store.workers_registry import register_worker, set_worker_health
from tests.api.conftest import Tenant
from tests.store.history import nums_of


async def _monitor(client: httpx.AsyncClient, tenant: Tenant) -> str:
    r = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "Perf", "url": "https://example.com/health", "type": "HTTP"},
    )
    assert r.status_code == 201, r.text
    monitor_id: str = r.json()["data"]["id"]
    return monitor_id


async def test_performance_averages_p95_and_series_from_the_store(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor_id = await _monitor(client, tenant)
    async with store.transaction() as session:
        num = (await nums_of(session, monitor_id))[monitor_id]
        for i in range(20):  # ttfb 10, 20, ... 200 ms; one every 3 minutes
            session.add(
                CheckResult(
                    monitor_num=num,
                    region="us-east-1",
                    status="UP",
                    checked_at=clock.now() - timedelta(minutes=3 * i + 1),
                    response_time_ms=100,
                    dns_ms=None,
                    tcp_ms=1.0,
                    tls_ms=4.0,
                    ttfb_ms=10.0 * (i + 1),
                    download_ms=2.0,
                    total_ms=10.0 * (i + 1) + 7,
                    size_bytes=2048,
                )
            )
        session.add(  # a failure: its 10 s timeout must not count
            CheckResult(
                monitor_num=num,
                region="us-east-1",
                status="DOWN",
                checked_at=clock.now() - timedelta(minutes=2),
                ttfb_ms=10000.0,
                total_ms=10000.0,
            )
        )
        session.add(  # older than the range
            CheckResult(
                monitor_num=num,
                region="us-east-1",
                status="UP",
                checked_at=clock.now() - timedelta(hours=2),
                ttfb_ms=5000.0,
                total_ms=5000.0,
            )
        )

    r = await client.get(f"/api/monitors/{monitor_id}/performance?hours=1", headers=tenant.headers)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["sampleCount"] == 20
    assert data["averages"] == {
        "dns": None,
        "tcp": 1.0,
        "tls": 4.0,
        "ttfb": 105.0,
        "download": 2.0,
        "total": 112.0,
        "size": 2048,
    }
    assert set(data["p95"]) == {"dns", "tcp", "tls", "ttfb", "download", "total"}
    assert 185.0 <= data["p95"]["ttfb"] <= 200.0
    assert data["p95"]["dns"] is None
    series = data["timeSeries"]
    assert len(series) == 20  # one-minute buckets, one check in each
    assert series[0]["timestamp"].endswith(":00.000Z")
    assert series == sorted(series, key=lambda p: p["timestamp"])
    assert set(series[0]) == {"timestamp", "dns", "tcp", "tls", "ttfb", "download", "total", "size"}


async def test_performance_hours_out_of_range_is_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor_id = await _monitor(client, tenant)
    for bad in ("0", "169", "day"):
        r = await client.get(
            f"/api/monitors/{monitor_id}/performance?hours={bad}", headers=tenant.headers
        )
        assert r.status_code == 400
        assert r.json()["fields"][0]["field"] == "hours"


async def test_performance_of_another_orgs_monitor_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    monitor_id = await _monitor(client, tenant)
    r = await client.get(f"/api/monitors/{monitor_id}/performance", headers=other_tenant.headers)
    assert r.status_code == 404
    assert r.json()["error"] == "Monitor not found"


async def test_regions_and_status_are_public_and_list_live_workers(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    r = await client.get("/api/status")
    assert r.status_code == 200
    assert r.json()["data"]["status"] == "degraded"  # no workers yet

    async with store.transaction() as session:
        for n, region in enumerate(["eu-west-1", "eu-west-1", "us-east-1"]):
            await register_worker(
                session,
                f"w{n}",
                region=region,
                host="h",
                pid=100 + n,
                version="0.1.0",
                now=clock.now(),
            )
    r = await client.get("/api/regions")
    assert r.status_code == 200
    assert [(x["region"], x["workerCount"], x["healthyWorkerCount"]) for x in r.json()["data"]] == [
        ("eu-west-1", 2, 2),
        ("us-east-1", 1, 1),
    ]
    status = (await client.get("/api/status")).json()["data"]
    assert status["status"] == "operational"
    names = [c["name"] for c in status["components"]]
    assert names == [
        "store",
        "workers:eu-west-1",
        "workers:us-east-1",
        "dispatcher",
        "alert-channels",
    ]

    # A worker whose canary fails: its region is degraded (or down with no healthy worker).
    async with store.transaction() as session:
        for worker_id in ("w0", "w2"):
            await set_worker_health(session, worker_id, error="canary: 1 of 1 ...", now=clock.now())
    regions = (await client.get("/api/regions")).json()["data"]
    assert [(x["region"], x["healthyWorkerCount"]) for x in regions] == [
        ("eu-west-1", 1),
        ("us-east-1", 0),
    ]
    status = (await client.get("/api/status")).json()["data"]
    assert status["status"] == "degraded"
    eu, us = status["components"][1:3]
    assert (eu["status"], eu["healthyWorkerCount"], us["status"]) == ("degraded", 1, "down")
    assert sorted(eu["workers"], key=lambda w: w["id"]) == [
        {
            "id": "w0",
            "version": "0.1.0",
            "healthy": False,
            "canaryError": "canary: 1 of 1 ...",
            "unhealthySince": iso(clock.now()),
        },
        {"id": "w1", "version": "0.1.0", "healthy": True},
    ]


async def test_metrics_are_prometheus_text(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    await _monitor(client, tenant)
    async with store.transaction() as session:
        await register_worker(
            session, "w1", region="eu-west-1", host="h", pid=1, version="0.1.0", now=clock.now()
        )
    assert (await client.get("/metrics")).status_code == 401
    r = await client.get("/metrics", headers=tenant.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert 'vigil_monitors{type="HTTP",active="true"} 1' in lines
    assert "vigil_incidents_active 0" in lines
    assert 'vigil_workers{region="eu-west-1"} 1' in lines
    assert "# TYPE vigil_alerts gauge" in lines
