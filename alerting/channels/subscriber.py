"""SUBSCRIBER channel: one status page subscriber, by email or signed webhook.

Each subscriber has its own hidden channel (never listed with the organization's
channels), so its messages go through the outbox and the dispatcher like any alert:
retried, recorded, never lost. Config::

    {"kind": "EMAIL", "email": "...", "pageName": "...", "pageUrl": "...",
     "unsubscribeUrl": "..."}
    {"kind": "WEBHOOK", "url": "...", "secret": "...", "pageName": "...", "pageUrl": "..."}

Every email carries the unsubscribe link in its text and in ``List-Unsubscribe``
(with ``List-Unsubscribe-Post``, RFC 8058's one-click unsubscribe). Webhooks are
signed as the WEBHOOK channel signs (``X-Signature`` over timestamp and body).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from alerting import messages
from alerting.channels import email as email_channel
from alerting.channels import webhook
from alerting.channels.base import AlertEvent, ChannelSpec, Delivery, DeliveryContext
from alerting.channels.posting import encode_json, post_json
from alerting.channels.validation import Issues, check_http_url, misconfigured
from store.status_page_models import SUBSCRIBER_CHANNEL

TYPE = SUBSCRIBER_CHANNEL
_HEADLINES = {
    "incident.opened": "Incident",
    "incident.updated": "Update",
    "incident.resolved": "Resolved",
    "maintenance.scheduled": "Maintenance scheduled",
}


def subject(event: AlertEvent, config: Mapping[str, Any]) -> str:
    page = config.get("pageName", "Status")
    if event.type == "subscription.confirm":
        return f"Confirm your subscription to {page} status"
    title = event.details.get("title", event.monitor_name)
    return f"[{page}] {_HEADLINES.get(event.type, 'Status')}: {title}"


def text(event: AlertEvent, config: Mapping[str, Any]) -> str:
    """The plain-text email: what happened, where to read more, how to stop."""
    page = config.get("pageName", "the status page")
    d = event.details
    if event.type == "subscription.confirm":
        lines = [
            f"Someone (we hope you) asked to hear about incidents and maintenance on {page}.",
            "",
            f"Confirm: {d.get('confirmUrl', '')}",
            "",
            "If it was not you, ignore this email: nothing will be sent without confirmation.",
        ]
    else:
        lines = [str(d.get("title", ""))]
        if d.get("status"):
            lines.append(f"Status: {d['status']}")
        if d.get("components"):
            lines.append("Affects: " + ", ".join(d["components"]))
        for label, key in (("Started", "startedAt"), ("Resolved", "resolvedAt")):
            if d.get(key):
                lines.append(f"{label}: {d[key]}")
        if d.get("startsAt"):
            lines.append(f"From {d['startsAt']} to {d.get('endsAt', '')}")
        if d.get("body"):
            lines += ["", str(d["body"])]
        lines += ["", f"Details: {config.get('pageUrl', '')}"]
    lines += ["", f"Unsubscribe: {config.get('unsubscribeUrl', '')}"]
    return "\n".join(lines) + "\n"


def compose(event: AlertEvent, config: Mapping[str, Any], *, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(event, config)
    message["From"] = sender
    message["To"] = config["email"]
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["X-Vigil-Event-Id"] = event.id
    message["List-Unsubscribe"] = f"<{config.get('unsubscribeUrl', '')}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text(event, config))
    return message


def render(event: AlertEvent, config: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook body: the event and the page it is about."""
    return {
        "id": event.id,
        "type": event.type,
        "occurredAt": messages.iso(event.occurred_at),
        "page": {"name": config.get("pageName"), "url": config.get("pageUrl")},
        "incidentId": event.incident_id,
        "details": dict(event.details),
    }


def validate(config: Mapping[str, Any]) -> Issues:
    kind = config.get("kind")
    if kind == "EMAIL":
        return [] if isinstance(config.get("email"), str) else [("config.email", "is required")]
    if kind == "WEBHOOK":
        issues = check_http_url(config, "url")
        if not isinstance(config.get("secret"), str) or not config["secret"]:
            issues.append(("config.secret", "is required"))
        return issues
    return [("config.kind", "must be EMAIL or WEBHOOK")]


async def deliver(channel: ChannelSpec, event: AlertEvent, ctx: DeliveryContext) -> Delivery:
    issues = validate(channel.config)
    if issues:
        return misconfigured(channel, issues)
    config = channel.config
    if config["kind"] == "EMAIL":
        message = compose(event, config, sender=ctx.smtp_from)
        return await email_channel.send(message, (config["email"],), ctx)
    raw_body = encode_json(render(event, config))
    headers = webhook.headers(event, raw_body, secret=config["secret"], timestamp=int(time.time()))
    # A subscriber's URL comes from a visitor of a public page, never from the
    # organization: it is judged as untrusted whatever the organization's trust.
    return await post_json(
        config["url"],
        raw_body,
        ctx,
        headers=headers,
        receiver="status page subscriber webhook",
        policy=ctx.policy(replace(channel, trusted=False)),
    )
