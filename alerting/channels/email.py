"""EMAIL channel: a plain-text email through Vigil's SMTP server. Config: ``{"recipients"}``.

Sent by Apprise's email plugin, built as a ``mailto://`` (plain SMTP) or
``mailtos://`` (STARTTLS, or implicit TLS on port 465) URL from the SMTP settings
in the ``DeliveryContext``. Apprise sends one message per recipient; a retry after
a partial failure may repeat the message to the recipients that already had it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import apprise
from apprise.utils.parse import is_email

from alerting import messages
from alerting.channels.apprise_url import Notice, send
from alerting.channels.base import AlertEvent, ChannelSpec, Delivery, DeliveryContext
from alerting.channels.validation import Issues, misconfigured

_IMPLICIT_TLS_PORT = 465
_NOTIFY_TYPE = apprise.NotifyType.INFO
_BARE_ADDRESS = re.compile(r"[^@\s,<>]+@[^@\s,<>]+")


@dataclass(frozen=True)
class Email:
    recipients: tuple[str, ...]
    subject: str
    body: str


def render(event: AlertEvent, config: Mapping[str, Any]) -> Email:
    recipients = config.get("recipients")
    listed = recipients if isinstance(recipients, list | tuple) else ()
    return Email(
        recipients=tuple(str(r).strip() for r in listed),
        subject=messages.title(event),
        body=messages.text(event),
    )


def smtp_url(ctx: DeliveryContext, recipients: Sequence[str]) -> str:
    """The Apprise URL that sends to ``recipients`` through the context's SMTP server."""
    if ctx.smtp_starttls:
        scheme, mode = "mailtos", "starttls"
    elif ctx.smtp_port == _IMPLICIT_TLS_PORT:
        scheme, mode = "mailtos", "ssl"
    else:
        scheme, mode = "mailto", "insecure"
    auth = ""
    if ctx.smtp_user:
        auth = quote(ctx.smtp_user, safe="")
        if ctx.smtp_password:
            auth += ":" + quote(ctx.smtp_password, safe="")
        auth += "@"
    host = f"[{ctx.smtp_host}]" if ":" in ctx.smtp_host else ctx.smtp_host
    query = urlencode(
        {
            "smtp": ctx.smtp_host,
            "from": ctx.smtp_from,
            "to": ",".join(recipients),
            "mode": mode,
            "format": "text",
            # Apprise's own timeout bounds each socket operation, not the whole send.
            "cto": f"{ctx.timeout_s:g}",
        }
    )
    return f"{scheme}://{auth}{host}:{ctx.smtp_port}/?{query}"


def validate(config: Mapping[str, Any]) -> Issues:
    recipients = config.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        return [("config.recipients", "must be a non-empty list of email addresses")]
    bad = [r for r in recipients if not _is_address(r)]
    if bad:
        shown = ", ".join(repr(r) for r in bad[:3])
        return [("config.recipients", f"must be email addresses like ops@example.com, not {shown}")]
    return []


def _is_address(value: object) -> bool:
    # Apprise splits its to= list on commas and spaces, so one address must have neither.
    return (
        isinstance(value, str)
        and _BARE_ADDRESS.fullmatch(value.strip()) is not None
        and bool(is_email(value.strip()))  # type: ignore[no-untyped-call]
    )


def mask(config: Mapping[str, Any]) -> dict[str, Any]:
    """Recipients are not secret; the SMTP password lives in the server settings."""
    return dict(config)


async def deliver(channel: ChannelSpec, event: AlertEvent, ctx: DeliveryContext) -> Delivery:
    issues = validate(channel.config)
    if issues:
        return misconfigured(channel, issues)
    email = render(event, channel.config)
    delivery = await send(
        smtp_url(ctx, email.recipients),
        Notice(title=email.subject, body=email.body, notify_type=_NOTIFY_TYPE),
        timeout_s=ctx.timeout_s,
        receiver=f"email via SMTP server {ctx.smtp_host}:{ctx.smtp_port}",
    )
    if delivery.ok or delivery.permanent:
        return delivery
    return Delivery(
        ok=False,
        error=(
            f"{delivery.error} (check the VIGIL_SMTP_* settings and that the server "
            f"accepts mail from {ctx.smtp_from})"
        ),
    )
