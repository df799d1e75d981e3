from __future__ import annotations

import ssl
import time
from collections.abc import Iterator

import pytest
import trustme

from alerting.channels import webhook
from alerting.channels.base import ChannelSpec, DeliveryContext
from tests.alerting.events import down_event, up_event
from tests.servers.receivers import HttpReceiver

SECRET = "whsec_0123456789abcdef"


def _channel(url: str, secret: str = SECRET) -> ChannelSpec:
    return ChannelSpec(
        id="ch_1",
        name="Ops hook",
        type="WEBHOOK",
        config={"url": url, "secret": secret},
        trusted=True,
    )


def test_render_down_carries_monitor_and_incident() -> None:
    body = webhook.render(down_event(details={"statusCode": 503}), {})
    assert body == {
        "id": "evt_down_1",
        "type": "monitor.down",
        "occurredAt": "2026-03-01T12:00:00Z",
        "summary": "[DOWN] Production API (https://api.example.com/health)",
        "monitor": {
            "id": "mon_1",
            "name": "Production API",
            "url": "https://api.example.com/health",
        },
        "incident": {
            "id": "inc_1",
            "startedAt": "2026-03-01T12:00:00Z",
            "resolvedAt": None,
            "duration": None,
            "cause": "Connection refused",
            "regions": ["eu-west", "us-east"],
        },
        "details": {"statusCode": 503},
    }


def test_render_recovery_has_resolved_time_and_duration() -> None:
    incident = webhook.render(up_event(), {})["incident"]
    assert incident["resolvedAt"] == "2026-03-01T12:04:12Z"
    assert incident["duration"] == 252


def test_render_without_incident_sends_null() -> None:
    assert webhook.render(down_event(type="test", incident_id=None), {})["incident"] is None


def test_verify_signature_accepts_own_signature_and_rejects_tampering() -> None:
    body = b'{"id":"evt_1"}'
    header = webhook.sign(SECRET, 1_700_000_000, body)
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert webhook.verify_signature(SECRET, "1700000000", body, header)
    assert not webhook.verify_signature(SECRET, "1700000001", body, header)
    assert not webhook.verify_signature(SECRET, "1700000000", body + b" ", header)
    assert not webhook.verify_signature("other-secret", "1700000000", body, header)


async def test_deliver_signs_body_the_receiver_can_verify(http_receiver: HttpReceiver) -> None:
    before = int(time.time())
    delivery = await webhook.deliver(
        _channel(http_receiver.url_for("/hooks/vigil")), down_event(), DeliveryContext(timeout_s=5)
    )
    assert delivery.ok, delivery.error
    assert delivery.status_code == 200
    (request,) = await http_receiver.wait_for(1)
    assert request.method == "POST"
    assert request.path == "/hooks/vigil"
    assert request.header("Content-Type") == "application/json"
    assert request.header("User-Agent") == "Vigil/0.1.0"
    assert request.header("X-Event-Id") == "evt_down_1"
    timestamp = request.header("X-Signature-Timestamp")
    assert timestamp is not None and before <= int(timestamp) <= int(time.time())
    signature = request.header("X-Signature")
    assert signature is not None
    assert webhook.verify_signature(SECRET, timestamp, request.body, signature)
    assert request.json()["monitor"]["name"] == "Production API"


async def test_deliver_retries_keep_event_id_until_receiver_recovers(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.reply_with(503, 503, 503)
    channel = _channel(http_receiver.url_for("/hook"))
    ctx = DeliveryContext(timeout_s=5)
    outcomes = [await webhook.deliver(channel, down_event(), ctx) for _ in range(4)]
    assert [(d.ok, d.permanent, d.status_code) for d in outcomes] == [
        (False, False, 503),
        (False, False, 503),
        (False, False, 503),
        (True, False, 200),
    ]
    assert outcomes[0].error == ("webhook 'Ops hook' answered 503 Service Unavailable; will retry")
    requests = await http_receiver.wait_for(4)
    assert {r.header("X-Event-Id") for r in requests} == {"evt_down_1"}
    assert {r.body for r in requests} == {requests[0].body}
    for r in requests:
        assert webhook.verify_signature(
            SECRET, r.header("X-Signature-Timestamp") or "", r.body, r.header("X-Signature") or ""
        )


async def test_deliver_missing_secret_is_permanent_without_sending(
    http_receiver: HttpReceiver,
) -> None:
    delivery = await webhook.deliver(
        _channel(http_receiver.url_for("/hook"), secret=""), down_event(), DeliveryContext()
    )
    assert not delivery.ok and delivery.permanent
    assert delivery.error is not None and "config.secret is required" in delivery.error
    assert http_receiver.requests == []


@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_receiver(tls_ca: trustme.CA) -> Iterator[HttpReceiver]:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    with HttpReceiver(ssl_context=server_ctx) as receiver:
        yield receiver


async def test_deliver_over_https_trusts_context_ca(
    https_receiver: HttpReceiver, tls_ca: trustme.CA
) -> None:
    client_ctx = ssl.create_default_context()
    tls_ca.configure_trust(client_ctx)
    channel = _channel(https_receiver.url_for("/hook"))
    delivery = await webhook.deliver(channel, down_event(), DeliveryContext(ssl_context=client_ctx))
    assert delivery.ok, delivery.error
    (request,) = await https_receiver.wait_for(1)
    assert request.header("X-Event-Id") == "evt_down_1"


async def test_deliver_over_https_untrusted_cert_fails_with_reason(
    https_receiver: HttpReceiver,
) -> None:
    channel = _channel(https_receiver.url_for("/hook"))
    delivery = await webhook.deliver(channel, down_event(), DeliveryContext(timeout_s=5))
    assert not delivery.ok and not delivery.permanent
    assert delivery.error == (
        f"could not connect to webhook 'Ops hook' at 127.0.0.1:{https_receiver.port}: "
        "its TLS certificate is not trusted (unable to get local issuer certificate); "
        "give it a certificate from a public CA or add its CA to Vigil's trust store, will retry"
    )
    assert https_receiver.requests == []


def test_mask_hides_secret_and_url_password() -> None:
    masked = webhook.mask(
        {"url": "https://bot:hunter2hunter2@hooks.example.com/in", "secret": SECRET}
    )
    assert masked == {"url": "https://bot:…ter2@hooks.example.com/in", "secret": "…cdef"}
