"""The delivery log, its manual retry, failing channels in /api/status, and 503s while
the store is unreachable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from alerting.dispatcher import Dispatcher
from alerting.retry import RetryPolicy
from api.main import create_app
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from tests.alerting.helpers import make_channel, make_monitor, record
from tests.api.conftest import Tenant
from tests.servers.receivers import HttpReceiver


async def _failed_and_delivered(
    store: Store, clock: FrozenClock, tenant: Tenant, hooks: HttpReceiver, ok: HttpReceiver
) -> tuple[str, str, str, str]:
    """Two monitors down; one channel rejects (dead letter), the other delivers."""
    bad = await make_channel(
        store, clock, tenant.org_id, config={"url": hooks.url_for("/h"), "secret": "s"}
    )
    good = await make_channel(
        store, clock, tenant.org_id, config={"url": ok.url_for("/h"), "secret": "s"}
    )
    m1 = await make_monitor(store, clock, tenant.org_id, alert_channels=[bad])
    m2 = await make_monitor(store, clock, tenant.org_id, alert_channels=[good])
    for m in (m1, m2):
        for _ in range(2):
            await record(store, clock, m, "DOWN", error="boom")
    policy = RetryPolicy(base_s=1, cap_s=1, window_s=1, jitter=0)
    dispatcher = Dispatcher(store, Settings(), clock=clock, policy=policy)
    await dispatcher.run_once()
    clock.advance(1)
    await dispatcher.run_once()
    return bad, good, m1.id, m2.id


async def test_delivery_log_lists_each_alert_with_its_attempts_and_filters(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    async with HttpReceiver(default=503) as hooks, HttpReceiver() as ok:
        bad, good, m1, m2 = await _failed_and_delivered(store, clock, tenant, hooks, ok)
    r = await client.get("/api/alert-deliveries", headers=tenant.headers)
    assert r.status_code == 200
    # Both DOWN alerts, and the notice to the good channel that the bad one fails.
    assert r.json()["pagination"]["total"] == 3

    r = await client.get("/api/alert-deliveries?status=failed", headers=tenant.headers)
    (dead,) = r.json()["data"]
    assert dead["channelId"] == bad and dead["monitorId"] == m1
    assert dead["status"] == "failed" and dead["attemptCount"] == 2
    assert dead["eventType"] == "monitor.down" and dead["nextAttemptAt"] is None
    assert [a["outcome"] for a in dead["attempts"]] == ["failed", "failed"]
    assert [a["statusCode"] for a in dead["attempts"]] == [503, 503]
    # The last attempt does not promise a retry that will not come.
    assert dead["lastError"] == "webhook 'Webhook channel' answered 503 Service Unavailable"
    assert dead["attempts"][0]["error"].endswith("; will retry")
    assert dead["attempts"][0]["startedAt"] == "2026-03-01T12:00:00.000Z"

    for query, want in [
        (f"channelId={good}", [None, m2]),
        (f"monitorId={m1}", [m1]),
        ("status=delivered", [m2]),
        ("status=pending", [None]),
    ]:
        r = await client.get(f"/api/alert-deliveries?{query}", headers=tenant.headers)
        assert [d["monitorId"] for d in r.json()["data"]] == want, query

    r = await client.get("/api/alert-deliveries?status=lost", headers=tenant.headers)
    assert r.status_code == 400
    assert r.json()["fields"] == [
        {"field": "status", "issue": "must be one of pending, delivered, failed"}
    ]


async def test_retry_sends_a_dead_letter_again_with_the_same_event_id(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    async with HttpReceiver(default=503) as hooks, HttpReceiver() as ok:
        await _failed_and_delivered(store, clock, tenant, hooks, ok)
        r = await client.get("/api/alert-deliveries?status=failed", headers=tenant.headers)
        (dead,) = r.json()["data"]
        hooks.reply_with(default=200)
        clock.advance(3600)
        r = await client.post(f"/api/alert-deliveries/{dead['id']}/retry", headers=tenant.headers)
        assert r.status_code == 200
        assert r.json()["data"]["status"] == "pending"
        assert r.json()["data"]["nextAttemptAt"] == "2026-03-01T13:00:01.000Z"
        await Dispatcher(store, Settings(), clock=clock).run_once()
        got = await hooks.wait_for(3)
    assert {g.header("X-Event-Id") for g in got} == {dead["eventId"]}
    r = await client.get(
        f"/api/alert-deliveries?monitorId={dead['monitorId']}", headers=tenant.headers
    )
    (row,) = r.json()["data"]
    assert row["status"] == "delivered"
    assert [a["outcome"] for a in row["attempts"]] == ["failed", "failed", "delivered"]

    again = await client.post(f"/api/alert-deliveries/{dead['id']}/retry", headers=tenant.headers)
    assert again.status_code == 409
    missing = await client.post("/api/alert-deliveries/out_nope/retry", headers=tenant.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "alert_delivery_not_found"


async def test_status_shows_failing_channels_until_one_delivery_succeeds(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    async with HttpReceiver(default=503) as hooks, HttpReceiver() as ok:
        await _failed_and_delivered(store, clock, tenant, hooks, ok)
        r = await client.get("/api/status")
        (channels,) = [c for c in r.json()["data"]["components"] if c["name"] == "alert-channels"]
        assert channels == {
            "name": "alert-channels",
            "status": "degraded",
            "failingChannels": 1,
            "failingSince": "2026-03-01T12:00:00.000Z",
            "undeliveredAlerts": 1,
        }
        assert r.json()["data"]["status"] == "degraded"
        metrics = await client.get("/metrics", headers=tenant.headers)
        assert "vigil_alert_channel_failing_since_seconds{" in metrics.text

        hooks.reply_with(default=200)
        r = await client.get("/api/alert-deliveries?status=failed", headers=tenant.headers)
        await client.post(
            f"/api/alert-deliveries/{r.json()['data'][0]['id']}/retry", headers=tenant.headers
        )
        await Dispatcher(store, Settings(), clock=clock).run_once()
    r = await client.get("/api/status")
    (channels,) = [c for c in r.json()["data"]["components"] if c["name"] == "alert-channels"]
    assert channels["status"] == "operational" and channels["failingChannels"] == 0


@pytest.fixture
async def unreachable(clock: FrozenClock, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # Nothing listens on port 1.
    broken = Store("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    app = create_app(settings, store=broken, clock=clock)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://v.test")
    yield client
    await client.aclose()
    await broken.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/api/monitors", id="list monitors"),
        pytest.param("POST", "/api/monitors", id="create monitor"),
        pytest.param("GET", "/api/alert-deliveries", id="delivery log"),
        pytest.param("GET", "/api/regions", id="regions"),
        pytest.param("GET", "/api/heartbeat/hb_token", id="heartbeat ping (GET)"),
        pytest.param("POST", "/api/heartbeat/hb_token/fail", id="heartbeat ping (POST)"),
    ],
)
async def test_every_endpoint_answers_503_store_unavailable_with_retry_after(
    unreachable: httpx.AsyncClient, method: str, path: str
) -> None:
    r = await unreachable.request(
        method, path, headers={"Authorization": "Bearer vk_whatever"}, json={}
    )
    assert r.status_code == 503
    body = r.json()
    assert body["code"] == "store_unavailable"
    assert body["error"].startswith("The store (database) is unavailable")
    assert r.headers["Retry-After"] == "5"
    assert body["requestId"] == r.headers["X-Request-Id"]
