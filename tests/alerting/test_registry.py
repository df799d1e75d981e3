from __future__ import annotations

from typing import Any

import pytest

from alerting.channels.base import ChannelSpec, DeliveryContext
from alerting.channels.registry import CHANNELS, deliver_via, mask_config, validate_config
from tests.alerting.events import down_event
from tests.servers.receivers import HttpReceiver, SmtpReceiver

VALID: dict[str, dict[str, Any]] = {
    "EMAIL": {"recipients": ["ops@example.com"]},
    "SLACK": {"webhookUrl": "https://hooks.slack.com/services/T000/B000/abcdefgh1234"},
    "WEBHOOK": {"url": "https://example.com/hook", "secret": "whsec_0123456789abcdef"},
    "PAGERDUTY": {"routingKey": "R0123456789ABCDEF0123456789ABCDE"},
    "APPRISE": {"url": "json://127.0.0.1:8080/notify"},
}


def test_channels_cover_every_stored_type() -> None:
    assert set(CHANNELS) == {"EMAIL", "SLACK", "WEBHOOK", "PAGERDUTY", "APPRISE"}


@pytest.mark.parametrize("channel_type", sorted(VALID))
def test_validate_config_accepts_valid_config(channel_type: str) -> None:
    assert validate_config(channel_type, VALID[channel_type]) == []


@pytest.mark.parametrize(
    ("channel_type", "config", "expected"),
    [
        pytest.param(
            "EMAIL",
            {},
            [("config.recipients", "must be a non-empty list of email addresses")],
            id="email",
        ),
        pytest.param(
            "SLACK",
            {"webhookUrl": ""},
            [("config.webhookUrl", "is required: an http:// or https:// URL")],
            id="slack",
        ),
        pytest.param(
            "WEBHOOK",
            {"url": "ftp://example.com"},
            [
                (
                    "config.url",
                    "must be an http:// or https:// URL with a host, e.g. https://example.com/hook",
                ),
                ("config.secret", "is required: the shared secret that signs each request"),
            ],
            id="webhook",
        ),
        pytest.param(
            "PAGERDUTY",
            {},
            [
                (
                    "config.routingKey",
                    "is required: the integration key of a PagerDuty Events API v2 service",
                )
            ],
            id="pagerduty",
        ),
        pytest.param(
            "SMS",
            {},
            [("type", "must be one of EMAIL, SLACK, WEBHOOK, PAGERDUTY, APPRISE")],
            id="unknown-type",
        ),
    ],
)
def test_validate_config_names_field_and_issue(
    channel_type: str, config: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert validate_config(channel_type, config) == expected


def test_mask_config_hides_each_secret() -> None:
    assert mask_config("WEBHOOK", VALID["WEBHOOK"]) == {
        "url": "https://example.com/hook",
        "secret": "…cdef",
    }
    assert mask_config("PAGERDUTY", VALID["PAGERDUTY"]) == {"routingKey": "…BCDE"}
    assert mask_config("SLACK", VALID["SLACK"]) == {"webhookUrl": "https://hooks.slack.com/…1234"}
    assert mask_config("EMAIL", VALID["EMAIL"]) == VALID["EMAIL"]


def test_mask_config_hides_secret_looking_keys_any_channel_forgot() -> None:
    masked = mask_config(
        "EMAIL", {"recipients": ["a@example.com"], "smtpPassword": "hunter2hunter2"}
    )
    assert masked == {"recipients": ["a@example.com"], "smtpPassword": "…ter2"}


def test_mask_config_is_stable_so_api_can_spot_unchanged_secrets() -> None:
    config = VALID["WEBHOOK"]
    assert mask_config("WEBHOOK", config) == mask_config("WEBHOOK", dict(config))
    assert mask_config("WEBHOOK", config)["secret"] != config["secret"]


async def test_deliver_via_unknown_type_is_permanent() -> None:
    channel = ChannelSpec(id="c", name="Pager", type="SMS", config={})
    delivery = await deliver_via(channel, down_event(), DeliveryContext())
    assert not delivery.ok and delivery.permanent
    assert delivery.error == (
        "channel 'Pager' has unknown type 'SMS'; "
        "must be one of EMAIL, SLACK, WEBHOOK, PAGERDUTY, APPRISE"
    )


@pytest.mark.parametrize("channel_type", ["SLACK", "WEBHOOK", "PAGERDUTY", "APPRISE"])
async def test_deliver_via_http_channels_reach_receiver(
    channel_type: str, http_receiver: HttpReceiver, pagerduty_ctx: DeliveryContext
) -> None:
    url = http_receiver.url_for("/in")
    config = {
        "SLACK": {"webhookUrl": url},
        "WEBHOOK": {"url": url, "secret": "whsec_0123456789abcdef"},
        "PAGERDUTY": VALID["PAGERDUTY"],
        "APPRISE": {"url": f"json://127.0.0.1:{http_receiver.port}/in"},
    }[channel_type]
    channel = ChannelSpec(id="c", name="Ops", type=channel_type, config=config, trusted=True)
    delivery = await deliver_via(channel, down_event(), pagerduty_ctx)
    assert delivery.ok, delivery.error
    (request,) = await http_receiver.wait_for(1)
    assert "Production API" in request.body.decode()


async def test_deliver_via_email_reaches_smtp(
    smtp_receiver: SmtpReceiver, delivery_ctx: DeliveryContext
) -> None:
    channel = ChannelSpec(id="c", name="Ops", type="EMAIL", config=VALID["EMAIL"])
    delivery = await deliver_via(channel, down_event(type="test"), delivery_ctx)
    assert delivery.ok, delivery.error
    (mail,) = await smtp_receiver.wait_for(1)
    assert mail.subject == "[TEST] Production API (https://api.example.com/health)"
