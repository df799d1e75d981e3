"""WEBHOOK channel: a signed JSON POST to any URL. Config: ``{"url", "secret"}``.

Every request carries::

    Content-Type: application/json
    User-Agent: Vigil/<version>
    X-Event-Id: <event id, the same on every retry: de-duplicate on it>
    X-Signature-Timestamp: <unix seconds when this attempt was sent>
    X-Signature: sha256=<hex HMAC-SHA256 of f"{timestamp}.{raw body}" keyed by the secret>

A receiver checks the signature over the raw body bytes (before parsing the JSON)
with ``verify_signature`` or its equivalent, and rejects old timestamps to stop
replays.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alerting import messages
from alerting.channels.base import AlertEvent, ChannelSpec, Delivery, DeliveryContext
from alerting.channels.posting import encode_json, post_json
from alerting.channels.validation import (
    Issues,
    check_http_url,
    mask_secret,
    mask_url_credentials,
    misconfigured,
)

SIGNATURE_PREFIX = "sha256="


def render(event: AlertEvent, config: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body: the event, its monitor and its incident (null when there is none)."""
    incident: dict[str, Any] | None = None
    if event.incident_id is not None:
        incident = {
            "id": event.incident_id,
            "startedAt": _iso(event.started_at),
            "resolvedAt": _iso(event.resolved_at),
            "duration": event.duration_s,
            "cause": event.cause,
            "regions": list(event.regions),
        }
    return {
        "id": event.id,
        "type": event.type,
        "occurredAt": messages.iso(event.occurred_at),
        "summary": messages.title(event),
        "monitor": {"id": event.monitor_id, "name": event.monitor_name, "url": event.monitor_url},
        "incident": incident,
        "details": dict(event.details),
    }


def sign(secret: str, timestamp: int | str, raw_body: bytes) -> str:
    """The ``X-Signature`` header value for this body sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + raw_body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def verify_signature(secret: str, timestamp: int | str, raw_body: bytes, header: str) -> bool:
    """True when ``header`` (``X-Signature``) was made with ``secret`` over this body.

    Pass the ``X-Signature-Timestamp`` header as ``timestamp`` and the body exactly
    as received; compare the timestamp with your clock separately to refuse replays.
    """
    return hmac.compare_digest(sign(secret, str(timestamp).strip(), raw_body), header.strip())


def headers(event: AlertEvent, raw_body: bytes, *, secret: str, timestamp: int) -> dict[str, str]:
    """The Vigil headers for one attempt (signature, timestamp, event id)."""
    return {
        "X-Event-Id": event.id,
        "X-Signature-Timestamp": str(timestamp),
        "X-Signature": sign(secret, timestamp, raw_body),
    }


def validate(config: Mapping[str, Any]) -> Issues:
    issues = check_http_url(config, "url")
    secret = config.get("secret")
    if not isinstance(secret, str) or not secret:
        issues.append(("config.secret", "is required: the shared secret that signs each request"))
    return issues


def mask(config: Mapping[str, Any]) -> dict[str, Any]:
    masked = dict(config)
    if isinstance(masked.get("url"), str):
        masked["url"] = mask_url_credentials(masked["url"])
    if isinstance(masked.get("secret"), str):
        masked["secret"] = mask_secret(masked["secret"])
    return masked


async def deliver(channel: ChannelSpec, event: AlertEvent, ctx: DeliveryContext) -> Delivery:
    issues = validate(channel.config)
    if issues:
        return misconfigured(channel, issues)
    raw_body = encode_json(render(event, channel.config))
    # The timestamp is the sending time (not the event's), so receivers can refuse replays.
    sent_headers = headers(
        event, raw_body, secret=channel.config["secret"], timestamp=int(time.time())
    )
    return await post_json(
        channel.config["url"].strip(),
        raw_body,
        ctx,
        headers=sent_headers,
        receiver=f"webhook {channel.name!r}",
        policy=ctx.policy(channel),
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else messages.iso(value)
