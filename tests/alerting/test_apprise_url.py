from __future__ import annotations

import apprise
import pytest

from alerting.channels import apprise_url
from alerting.channels.base import ChannelSpec, DeliveryContext
from tests.alerting.events import down_event, up_event
from tests.servers.receivers import HttpReceiver, Reply, refused_port


def _channel(url: str) -> ChannelSpec:
    return ChannelSpec(
        id="ch_a", name="Team chat", type="APPRISE", config={"url": url}, trusted=True
    )


def _json_url(receiver: HttpReceiver, path: str = "/notify") -> str:
    return f"json://127.0.0.1:{receiver.port}{path}"


def test_render_maps_event_to_notice() -> None:
    notice = apprise_url.render(down_event(), {})
    assert notice.title == "[DOWN] Production API (https://api.example.com/health)"
    assert notice.body.startswith("Production API is DOWN.\n")
    assert notice.notify_type == apprise.NotifyType.FAILURE
    assert apprise_url.render(up_event(), {}).notify_type == apprise.NotifyType.SUCCESS


async def test_deliver_json_url_reaches_receiver(http_receiver: HttpReceiver) -> None:
    delivery = await apprise_url.deliver(
        _channel(_json_url(http_receiver)), up_event(), DeliveryContext(timeout_s=5)
    )
    assert delivery.ok, delivery.error
    (request,) = await http_receiver.wait_for(1)
    assert request.method == "POST" and request.path == "/notify"
    sent = request.json()
    assert sent["title"] == "[RECOVERED] Production API (https://api.example.com/health)"
    assert "down for 4 min 12 s" in sent["message"]
    assert sent["type"] == "success"


async def test_deliver_server_error_is_retryable_with_apprise_reason(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.reply_with(500)
    delivery = await apprise_url.deliver(
        _channel(_json_url(http_receiver)), down_event(), DeliveryContext(timeout_s=5)
    )
    assert not delivery.ok and not delivery.permanent
    assert delivery.error == (
        "Apprise channel 'Team chat' failed: Failed to send JSON POST notification: "
        "Internal server error., error=500; will retry"
    )


async def test_deliver_not_found_is_permanent(http_receiver: HttpReceiver) -> None:
    http_receiver.reply_with(404)
    delivery = await apprise_url.deliver(
        _channel(_json_url(http_receiver)), down_event(), DeliveryContext(timeout_s=5)
    )
    assert not delivery.ok and delivery.permanent
    assert delivery.error is not None
    assert delivery.error.endswith("error=404; fix the channel, retrying will not help")


async def test_deliver_receiver_down_is_retryable() -> None:
    with refused_port() as port:
        delivery = await apprise_url.deliver(
            _channel(f"json://127.0.0.1:{port}/notify"), down_event(), DeliveryContext(timeout_s=5)
        )
    assert not delivery.ok and not delivery.permanent
    assert delivery.error is not None and "Connection error" in delivery.error


async def test_deliver_hanging_receiver_times_out(http_receiver: HttpReceiver) -> None:
    http_receiver.reply_with(Reply(hang=True))
    delivery = await apprise_url.deliver(
        _channel(_json_url(http_receiver)), down_event(), DeliveryContext(timeout_s=0.3)
    )
    assert not delivery.ok and not delivery.permanent
    assert delivery.error == "Apprise channel 'Team chat' did not finish within 0.3 s; will retry"


async def test_deliver_unknown_scheme_is_permanent_without_sending() -> None:
    delivery = await apprise_url.deliver(_channel("nosuch://x/y"), down_event(), DeliveryContext())
    assert not delivery.ok and delivery.permanent
    assert delivery.error is not None
    assert "config.url uses nosuch://, which Apprise does not know" in delivery.error


@pytest.mark.parametrize(
    ("url", "issue_start"),
    [
        pytest.param(None, "is required: an Apprise URL", id="missing"),
        pytest.param("example.com", "is required: an Apprise URL", id="no-scheme"),
        pytest.param("nosuch://x", "uses nosuch://, which Apprise does not know", id="unknown"),
        pytest.param("discord://", "is not a valid discord:// URL for Apprise", id="incomplete"),
    ],
)
def test_validate_rejects_unusable_urls(url: str | None, issue_start: str) -> None:
    ((field, issue),) = apprise_url.validate({"url": url})
    assert field == "config.url"
    assert issue.startswith(issue_start)


def test_validate_accepts_known_service_urls() -> None:
    assert apprise_url.validate({"url": "discord://1234567890/abcdefghijklmnopqrstuvwxyz"}) == []
    assert apprise_url.validate({"url": "json://127.0.0.1:8080/notify"}) == []


def test_mask_uses_apprise_privacy_view_and_keeps_given_params() -> None:
    masked = apprise_url.mask({"url": "discord://1234567890/abcdefghijklmnopqrstuvwxyz?tts=yes"})
    assert masked == {"url": "discord://1...0/a...z/?tts=yes"}
    assert apprise_url.mask({"url": "json://bot:hunter2@127.0.0.1:8080/notify"}) == {
        "url": "json://bot:****@127.0.0.1:8080/notify"
    }
