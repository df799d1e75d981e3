from __future__ import annotations

from alerting.channels import pagerduty
from alerting.channels.base import ChannelSpec, DeliveryContext
from tests.alerting.events import down_event, up_event
from tests.servers.receivers import HttpReceiver, Reply

ROUTING_KEY = "R0123456789ABCDEF0123456789ABCDE"
CONFIG = {"routingKey": ROUTING_KEY}
CHANNEL = ChannelSpec(id="ch_pd", name="On-call", type="PAGERDUTY", config=CONFIG)
ACCEPTED = Reply(202, '{"status":"success","message":"Event processed","dedup_key":"x"}')


def test_render_down_triggers_critical_with_details() -> None:
    body = pagerduty.render(down_event(), CONFIG)
    assert body["routing_key"] == ROUTING_KEY
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "vigil-inc_1"
    payload = body["payload"]
    assert payload["summary"] == (
        "[DOWN] Production API (https://api.example.com/health): Connection refused"
    )
    assert payload["source"] == "https://api.example.com/health"
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-03-01T12:00:00Z"
    assert payload["group"] == "eu-west, us-east"
    assert payload["custom_details"]["Regions"] == "eu-west, us-east"
    assert payload["custom_details"]["incident_id"] == "inc_1"


def test_render_recovery_resolves_same_dedup_key() -> None:
    assert pagerduty.render(up_event(), CONFIG) == {
        "routing_key": ROUTING_KEY,
        "dedup_key": "vigil-inc_1",
        "event_action": "resolve",
    }


def test_render_degraded_and_ssl_are_warnings() -> None:
    assert pagerduty.render(down_event(type="monitor.degraded"), CONFIG)["payload"]["severity"] == (
        "warning"
    )
    ssl_body = pagerduty.render(down_event(type="ssl.expiring", incident_id=None), CONFIG)
    assert ssl_body["payload"]["severity"] == "warning"
    assert ssl_body["dedup_key"] == "vigil-ssl-mon_1"


def test_render_without_incident_keys_on_monitor() -> None:
    down = pagerduty.render(down_event(incident_id=None), CONFIG)
    up = pagerduty.render(up_event(incident_id=None), CONFIG)
    assert down["dedup_key"] == up["dedup_key"] == "vigil-monitor-mon_1"


async def test_deliver_trigger_then_resolve_share_dedup_key(
    http_receiver: HttpReceiver, pagerduty_ctx: DeliveryContext
) -> None:
    http_receiver.reply_with(ACCEPTED, ACCEPTED)
    down = await pagerduty.deliver(CHANNEL, down_event(), pagerduty_ctx)
    up = await pagerduty.deliver(CHANNEL, up_event(), pagerduty_ctx)
    assert (down.ok, down.status_code) == (True, 202)
    assert (up.ok, up.status_code) == (True, 202)
    trigger, resolve = await http_receiver.wait_for(2)
    assert trigger.path == resolve.path == "/v2/enqueue"
    assert trigger.json()["event_action"] == "trigger"
    assert resolve.json()["event_action"] == "resolve"
    assert trigger.json()["dedup_key"] == resolve.json()["dedup_key"] == "vigil-inc_1"
    assert resolve.json()["routing_key"] == ROUTING_KEY


async def test_deliver_invalid_event_is_permanent_with_pagerduty_reason(
    http_receiver: HttpReceiver, pagerduty_ctx: DeliveryContext
) -> None:
    http_receiver.reply_with(
        Reply(400, '{"status":"invalid event","errors":["\'routing_key\' is invalid"]}')
    )
    delivery = await pagerduty.deliver(CHANNEL, down_event(), pagerduty_ctx)
    assert (delivery.ok, delivery.permanent, delivery.status_code) == (False, True, 400)
    assert delivery.error is not None
    assert "rejected the alert with 400 Bad Request" in delivery.error
    assert "'routing_key' is invalid" in delivery.error


async def test_deliver_throttled_is_retryable(
    http_receiver: HttpReceiver, pagerduty_ctx: DeliveryContext
) -> None:
    http_receiver.reply_with(429)
    delivery = await pagerduty.deliver(CHANNEL, down_event(), pagerduty_ctx)
    assert (delivery.ok, delivery.permanent, delivery.status_code) == (False, False, 429)


def test_validate_requires_routing_key() -> None:
    assert pagerduty.validate(CONFIG) == []
    assert pagerduty.validate({"routingKey": ""}) == [
        (
            "config.routingKey",
            "is required: the integration key of a PagerDuty Events API v2 service",
        )
    ]
    assert pagerduty.validate({"routingKey": "abc def"})[0][1].startswith("must not contain spaces")


def test_mask_shows_only_the_last_four() -> None:
    assert pagerduty.mask(CONFIG) == {"routingKey": "…BCDE"}
