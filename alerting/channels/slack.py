"""SLACK channel: one incoming-webhook POST. Config: ``{"webhookUrl"}``.

Posts straight to the configured URL (Apprise's Slack plugin always posts to
hooks.slack.com, so it could not reach Slack-compatible servers or a test receiver).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerting import messages
from alerting.channels.base import AlertEvent, ChannelSpec, Delivery, DeliveryContext
from alerting.channels.posting import encode_json, post_json
from alerting.channels.validation import Issues, check_http_url, mask_url_path, misconfigured

_COLORS = {
    "monitor.down": "#d32f2f",
    "heartbeat.missed": "#d32f2f",
    "monitor.up": "#2e7d32",
    "monitor.degraded": "#f9a825",
    "ssl.expiring": "#f9a825",
    "test": "#1565c0",
}
_SLACK_FIELD_LIMIT = 10


def render(event: AlertEvent, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Slack message: ``text`` for notifications, a coloured attachment of blocks."""
    facts = [(name, value) for name, value in messages.fields(event) if name != "Monitor"]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{_escape(messages.headline(event))}*"},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{name}*\n{_escape(value)}"}
                for name, value in facts[:_SLACK_FIELD_LIMIT]
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Vigil event {event.id}"}]},
    ]
    return {
        "text": messages.title(event),
        "attachments": [{"color": _COLORS.get(event.type, "#607d8b"), "blocks": blocks}],
    }


def _escape(text: str) -> str:
    # Slack's mrkdwn treats &, < and > as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def validate(config: Mapping[str, Any]) -> Issues:
    return check_http_url(config, "webhookUrl")


def mask(config: Mapping[str, Any]) -> dict[str, Any]:
    masked = dict(config)
    if isinstance(masked.get("webhookUrl"), str):
        masked["webhookUrl"] = mask_url_path(masked["webhookUrl"])
    return masked


async def deliver(channel: ChannelSpec, event: AlertEvent, ctx: DeliveryContext) -> Delivery:
    issues = validate(channel.config)
    if issues:
        return misconfigured(channel, issues)
    return await post_json(
        channel.config["webhookUrl"].strip(),
        encode_json(render(event, channel.config)),
        ctx,
        receiver=f"Slack webhook of channel {channel.name!r}",
        policy=ctx.policy(channel),
    )
