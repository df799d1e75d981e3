"""Channel type to module: deliver, validate and mask any channel by its ``type``.

``deliver_via`` is what the dispatcher calls; ``validate_config`` and ``mask_config``
are what the API calls when a channel is created, updated or shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alerting.channels import apprise_url, email, pagerduty, slack, subscriber, webhook
from alerting.channels.base import AlertEvent, ChannelSpec, Delivery, DeliveryContext
from alerting.channels.validation import Issues, mask_secret


@dataclass(frozen=True)
class ChannelKind:
    deliver: Callable[[ChannelSpec, AlertEvent, DeliveryContext], Awaitable[Delivery]]
    validate: Callable[[Mapping[str, Any]], Issues]
    mask: Callable[[Mapping[str, Any]], dict[str, Any]]


CHANNELS: Mapping[str, ChannelKind] = {
    "EMAIL": ChannelKind(email.deliver, email.validate, email.mask),
    "SLACK": ChannelKind(slack.deliver, slack.validate, slack.mask),
    "WEBHOOK": ChannelKind(webhook.deliver, webhook.validate, webhook.mask),
    "PAGERDUTY": ChannelKind(pagerduty.deliver, pagerduty.validate, pagerduty.mask),
    "APPRISE": ChannelKind(apprise_url.deliver, apprise_url.validate, apprise_url.mask),
}

# Made by the system, not through the API: each status page subscriber's own channel.
INTERNAL: Mapping[str, ChannelKind] = {
    subscriber.TYPE: ChannelKind(subscriber.deliver, subscriber.validate, dict),
}

# Whatever a channel module masks, a value under a key like these never leaves unmasked.
_SECRET_WORDS = ("password", "secret", "token", "key")


async def deliver_via(channel: ChannelSpec, event: AlertEvent, ctx: DeliveryContext) -> Delivery:
    """Deliver ``event`` through ``channel``; an unknown type is a permanent failure."""
    kind = CHANNELS.get(channel.type) or INTERNAL.get(channel.type)
    if kind is None:
        return Delivery(
            ok=False,
            permanent=True,
            error=f"channel {channel.name!r} has unknown type {channel.type!r}; {_known()}",
        )
    return await kind.deliver(channel, event, ctx)


def validate_config(channel_type: str, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, issue)`` pairs for the API; empty when the config can be used."""
    kind = CHANNELS.get(channel_type)
    if kind is None:
        return [("type", _known())]
    if not isinstance(config, Mapping):
        return [("config", "must be an object")]
    return kind.validate(config)


def mask_config(channel_type: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with its secrets shortened to ``abcd…wxyz``, for API responses."""
    kind = CHANNELS.get(channel_type)
    masked = kind.mask(config) if kind is not None else dict(config)
    for key, value in config.items():
        if isinstance(value, str) and masked.get(key) == value and _is_secret_key(key):
            masked[key] = mask_secret(value)
    return masked


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _known() -> str:
    return "must be one of " + ", ".join(CHANNELS)
