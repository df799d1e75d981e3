"""Which channels hear of an incident, and what they are sent: routing by
``alertChannels``, disabled channels, the webhook signature, and what a RECOVERED
says when its DOWN could not be delivered."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import update

from alerting import messages
from alerting.channels.webhook import sign
from alerting.dispatcher import Dispatcher
from alerting.outbox import event_from_json
from alerting.retry import RetryPolicy
from store.channel_health import failing_channels
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.models import AlertChannel
from tests.alerting.helpers import make_channel, make_monitor, make_org, outbox, record
from tests.servers.receivers import HttpReceiver

SECRET = "whsec_test"


async def _channels_told(store: Store, clock: FrozenClock, **monitor: object) -> list[str]:
    org = await make_org(store, clock)
    a = await make_channel(store, clock, org)
    b = await make_channel(store, clock, org)
    off = await make_channel(store, clock, org)
    async with store.transaction() as session:
        await session.execute(
            update(AlertChannel).where(AlertChannel.id == off).values(is_active=False)
        )
    names = {a: "a", b: "b", off: "off"}
    values = {k: ([a] if v == "A" else v) for k, v in monitor.items()}
    m = await make_monitor(store, clock, org, **values)
    for _ in range(2):
        await record(store, clock, m, "DOWN", error="boom")
        clock.advance(30)
    return sorted(names[r.channel_id] for r in await outbox(store, m.id))


async def test_alert_channels_list_routes_to_those_channels_only(
    store: Store, clock: FrozenClock
) -> None:
    assert await _channels_told(store, clock, alert_channels="A") == ["a"]


async def test_alert_channels_empty_list_routes_nowhere(store: Store, clock: FrozenClock) -> None:
    assert await _channels_told(store, clock, alert_channels=[]) == []


async def test_alert_channels_default_routes_to_every_active_channel(
    store: Store, clock: FrozenClock
) -> None:
    assert await _channels_told(store, clock, alert_channels=None) == ["a", "b"]


async def test_channel_disabled_after_enqueue_gets_nothing(
    store: Store, clock: FrozenClock
) -> None:
    async with HttpReceiver() as hooks:
        org = await make_org(store, clock)
        channel = await make_channel(
            store, clock, org, config={"url": hooks.url_for("/hook"), "secret": SECRET}
        )
        m = await make_monitor(store, clock, org)
        for _ in range(2):
            await record(store, clock, m, "DOWN", error="boom")
        async with store.transaction() as session:
            await session.execute(
                update(AlertChannel).where(AlertChannel.id == channel).values(is_active=False)
            )
        assert await Dispatcher(store, Settings(), clock=clock).run_once() == 1
        assert hooks.requests == []
    (row,) = await outbox(store, m.id)
    assert row.status == "failed" and row.attempts == 1
    assert "disabled" in (row.last_error or "")


def test_webhook_signature_matches_a_known_answer_vector() -> None:
    # Computed with: printf '%s' '1700000000.{"type":"monitor.down"}' |
    #   openssl dgst -sha256 -hmac whsec_test
    expected = "6914930e3ed37cc5f1ca6e230c2950f300b2410ddb53e0c2bac6a373b4c1f3e1"
    assert sign(SECRET, 1700000000, b'{"type":"monitor.down"}') == f"sha256={expected}"


async def test_delivered_webhook_is_signed_over_timestamp_dot_raw_body(
    store: Store, clock: FrozenClock
) -> None:
    async with HttpReceiver() as hooks:
        org = await make_org(store, clock)
        await make_channel(store, clock, org, config={"url": hooks.url_for("/h"), "secret": SECRET})
        m = await make_monitor(store, clock, org)
        for _ in range(2):
            await record(store, clock, m, "DOWN", error="boom")
        await Dispatcher(store, Settings(), clock=clock).run_once()
        (got,) = await hooks.wait_for(1)
    stamp = got.header("X-Signature-Timestamp") or ""
    digest = hmac.new(SECRET.encode(), stamp.encode() + b"." + got.body, hashlib.sha256)
    assert got.header("X-Signature") == "sha256=" + digest.hexdigest()
    assert got.json()["type"] == "monitor.down"


async def test_recovery_after_an_undelivered_down_says_the_down_was_not_delivered(
    store: Store, clock: FrozenClock
) -> None:
    start = clock.now()
    async with HttpReceiver(replies=[503, 503], default=200) as hooks:
        org = await make_org(store, clock)
        await make_channel(store, clock, org, config={"url": hooks.url_for("/h"), "secret": SECRET})
        m = await make_monitor(store, clock, org, name="Shop")
        policy = RetryPolicy(base_s=1, cap_s=1, window_s=1, jitter=0)
        dispatcher = Dispatcher(store, Settings(), clock=clock, policy=policy)
        await record(store, clock, m, "DOWN", error="boom")
        await record(store, clock, m, "DOWN", error="boom")
        await dispatcher.run_once()  # the DOWN fails...
        clock.advance(1)
        await dispatcher.run_once()  # ...at the window's end too: dead-lettered
        clock.set(start + timedelta(minutes=4, seconds=12))
        await record(store, clock, m, "UP")
        await dispatcher.run_once()
        got = await hooks.wait_for(3)
    rows = await outbox(store, m.id)
    assert [(r.event_type, r.status) for r in rows] == [
        ("monitor.down", "failed"),
        ("monitor.up", "delivered"),
    ]
    body = got[2].json()
    assert body["type"] == "monitor.up"
    assert body["details"]["downUndelivered"] is True
    event = event_from_json({**rows[1].payload, "details": body["details"]})
    assert messages.headline(event) == (
        "Shop has RECOVERED: it was down from 2026-03-01T12:00:00Z to 2026-03-01T12:04:12Z "
        "(4 min 12 s); the DOWN alert could not be delivered."
    )


async def test_failing_channel_is_announced_once_on_the_other_channels(
    store: Store, clock: FrozenClock
) -> None:
    async with HttpReceiver(default=503) as broken, HttpReceiver() as ops:
        org = await make_org(store, clock)
        bad = await make_channel(
            store, clock, org, config={"url": broken.url_for("/h"), "secret": SECRET}
        )
        await make_channel(store, clock, org, config={"url": ops.url_for("/h"), "secret": SECRET})
        m = await make_monitor(store, clock, org, alert_channels=[bad])
        settings = Settings(channel_notice_after_s=600)
        dispatcher = Dispatcher(store, settings, clock=clock, policy=RetryPolicy(jitter=0))
        for _ in range(2):
            await record(store, clock, m, "DOWN", error="boom")
        await dispatcher.run_once()
        clock.advance(599)  # failing for 599 s: no notice yet
        await dispatcher.run_once()
        assert ops.requests == []
        for _ in range(5):  # failing past 600 s: one notice, however often it fails
            clock.advance(900)
            await dispatcher.run_once()
        (notice,) = await ops.wait_for(1)
        async with store.transaction() as session:
            (health,) = await failing_channels(session, org_id=org)
    body = notice.json()
    assert body["type"] == "channel.failing"
    assert body["details"]["channelId"] == bad
    assert body["summary"] == "[CHANNEL FAILING] Webhook channel"
    assert health.channel_id == bad and health.failures == 7
    assert len(ops.requests) == 1
