from __future__ import annotations

from typing import Any

from alerting.channels import slack
from alerting.channels.base import ChannelSpec, DeliveryContext
from tests.alerting.events import down_event, up_event
from tests.servers.receivers import HttpReceiver, Reply, refused_port


def _channel(url: str) -> ChannelSpec:
    return ChannelSpec(
        id="ch_s", name="Eng Slack", type="SLACK", config={"webhookUrl": url}, trusted=True
    )


def _fields(message: dict[str, Any]) -> list[str]:
    (attachment,) = message["attachments"]
    return [f["text"] for f in attachment["blocks"][1]["fields"]]


def test_render_down_is_red_with_headline_and_facts() -> None:
    message = slack.render(down_event(), {})
    assert message["text"] == "[DOWN] Production API (https://api.example.com/health)"
    (attachment,) = message["attachments"]
    assert attachment["color"] == "#d32f2f"
    assert attachment["blocks"][0]["text"] == {
        "type": "mrkdwn",
        "text": "*Production API is DOWN.*",
    }
    assert _fields(message) == [
        "*Target*\nhttps://api.example.com/health",
        "*Status*\nDOWN",
        "*Cause*\nConnection refused",
        "*Regions*\neu-west, us-east",
        "*Started*\n2026-03-01T12:00:00Z (Sunday 1 March 2026, 12:00:00 UTC)",
    ]


def test_render_recovery_is_green_with_duration() -> None:
    message = slack.render(up_event(), {})
    assert message["text"].startswith("[RECOVERED] Production API")
    assert message["attachments"][0]["color"] == "#2e7d32"
    assert "*Down for*\n4 min 12 s" in _fields(message)


def test_render_escapes_slack_control_characters() -> None:
    message = slack.render(down_event(cause="expected <200> & got 503"), {})
    assert "*Cause*\nexpected &lt;200&gt; &amp; got 503" in _fields(message)


async def test_deliver_posts_message_json(http_receiver: HttpReceiver) -> None:
    http_receiver.reply_with(200)
    delivery = await slack.deliver(
        _channel(http_receiver.url_for("/services/T0/B0/XYZ")), down_event(), DeliveryContext()
    )
    assert delivery.ok, delivery.error
    (request,) = await http_receiver.wait_for(1)
    assert request.path == "/services/T0/B0/XYZ"
    assert request.header("Content-Type") == "application/json"
    assert request.json() == slack.render(down_event(), {})


async def test_deliver_receiver_down_is_retryable() -> None:
    with refused_port() as port:
        delivery = await slack.deliver(
            _channel(f"http://127.0.0.1:{port}/hook"), down_event(), DeliveryContext()
        )
    assert not delivery.ok and not delivery.permanent
    assert delivery.error is not None
    assert delivery.error.startswith("could not connect to Slack webhook of channel 'Eng Slack'")


async def test_deliver_invalid_token_is_permanent(http_receiver: HttpReceiver) -> None:
    http_receiver.reply_with(Reply(403, "invalid_token"))
    delivery = await slack.deliver(
        _channel(http_receiver.url_for("/hook")), down_event(), DeliveryContext()
    )
    assert (delivery.ok, delivery.permanent, delivery.status_code) == (False, True, 403)


def test_validate_requires_http_url() -> None:
    assert slack.validate({"webhookUrl": "https://hooks.slack.com/services/T/B/X"}) == []
    assert slack.validate({}) == [("config.webhookUrl", "is required: an http:// or https:// URL")]
    assert slack.validate({"webhookUrl": "hooks.slack.com/x"}) == [
        (
            "config.webhookUrl",
            "must be an http:// or https:// URL with a host, e.g. https://example.com/hook",
        )
    ]


def test_mask_keeps_host_and_hides_path_token() -> None:
    masked = slack.mask({"webhookUrl": "https://hooks.slack.com/services/T000/B000/abcdefgh1234"})
    assert masked == {"webhookUrl": "https://hooks.slack.com/…1234"}
