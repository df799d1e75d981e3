"""PAGERDUTY channel: Events API v2. Config: ``{"routingKey"}`` (the integration key).

A down (or missed heartbeat) triggers; the recovery resolves with the same
``dedup_key``, so the page closes itself. Reminders re-trigger the same key, which
PagerDuty folds into the open alert. Posted to ``ctx.pagerduty_events_url`` (not
Apprise: its plugin needs a REST API key v2 does not, and posts to a fixed host).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerting import messages
from alerting.channels.base import AlertEvent, ChannelSpec, Delivery, DeliveryContext
from alerting.channels.posting import encode_json, post_json
from alerting.channels.validation import Issues, check_token, mask_secret, misconfigured

_SEVERITY = {
    "monitor.down": "critical",
    "heartbeat.missed": "critical",
    "monitor.degraded": "warning",
    "ssl.expiring": "warning",
    "monitor.flapping": "warning",
    "test": "info",
}
_SUMMARY_LIMIT = 1024


def dedup_key(event: AlertEvent) -> str:
    """One key per incident, so trigger, reminders and resolve land on one alert."""
    if event.type == "test":
        return f"vigil-test-{event.id}"
    if event.type == "ssl.expiring":
        return f"vigil-ssl-{event.monitor_id}"
    if event.type == "channel.failing":
        return f"vigil-channel-{event.details.get('channelId', '')}"
    if event.type in ("monitor.flapping", "monitor.stable"):
        return f"vigil-flap-{event.monitor_id}"
    if event.incident_id is not None:
        return f"vigil-{event.incident_id}"
    return f"vigil-monitor-{event.monitor_id}"


def render(event: AlertEvent, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Events API v2 body: ``resolve`` for a recovery, ``trigger`` for the rest."""
    body: dict[str, Any] = {
        "routing_key": str(config.get("routingKey", "")).strip(),
        "dedup_key": dedup_key(event),
    }
    if event.type in ("monitor.up", "monitor.stable"):
        body["event_action"] = "resolve"
        return body
    summary = f"{messages.title(event)}: {event.cause}" if event.cause else messages.title(event)
    details: dict[str, Any] = {name: value for name, value in messages.fields(event)}
    details.update({"monitor_id": event.monitor_id, "event_id": event.id})
    if event.incident_id is not None:
        details["incident_id"] = event.incident_id
    body["event_action"] = "trigger"
    body["client"] = "Vigil"
    body["payload"] = {
        "summary": summary[:_SUMMARY_LIMIT],
        "source": event.monitor_url or event.monitor_name,
        "severity": _SEVERITY.get(event.type, "error"),
        "timestamp": messages.iso(event.started_at or event.occurred_at),
        "component": event.monitor_name,
        "class": event.type,
        "custom_details": details,
    }
    if event.regions:
        body["payload"]["group"] = ", ".join(event.regions)
    return body


def validate(config: Mapping[str, Any]) -> Issues:
    return check_token(
        config, "routingKey", what="the integration key of a PagerDuty Events API v2 service"
    )


def mask(config: Mapping[str, Any]) -> dict[str, Any]:
    masked = dict(config)
    if isinstance(masked.get("routingKey"), str):
        masked["routingKey"] = mask_secret(masked["routingKey"])
    return masked


async def deliver(channel: ChannelSpec, event: AlertEvent, ctx: DeliveryContext) -> Delivery:
    issues = validate(channel.config)
    if issues:
        return misconfigured(channel, issues)
    return await post_json(
        ctx.pagerduty_events_url,
        encode_json(render(event, channel.config)),
        ctx,
        receiver=f"PagerDuty (channel {channel.name!r})",
        # The events URL is the operator's setting, not the organization's choice.
        policy=None,
    )
