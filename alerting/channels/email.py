"""EMAIL channel: one plain-text email to all recipients. Config: ``{"recipients"}``.

Sent with smtplib (in a thread) through the SMTP server in the ``DeliveryContext``:
plain, STARTTLS (``smtp_starttls``) or implicit TLS (port 465), with login when a
user and password are set. Not Apprise's email plugin, although it can reach a plain
local server: it reports every failure as "Connection error" (a wrong password, a
refused recipient and a server that is down look alike, so a person cannot act and
the dispatcher cannot tell what is permanent), it verifies TLS only against the
system CAs (not ``ctx.ssl_context``), and it sends one message per recipient, so a
retry after a partial failure repeats the alert to the others.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from alerting import messages
from alerting.channels.base import AlertEvent, ChannelSpec, Delivery, DeliveryContext
from alerting.channels.validation import Issues, misconfigured

_IMPLICIT_TLS_PORT = 465
_ADDRESS = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+")


@dataclass(frozen=True)
class Email:
    recipients: tuple[str, ...]
    subject: str
    body: str


class _SmtpFailure(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def render(event: AlertEvent, config: Mapping[str, Any]) -> Email:
    recipients = config.get("recipients")
    listed = recipients if isinstance(recipients, list | tuple) else ()
    return Email(
        recipients=tuple(str(r).strip() for r in listed),
        subject=messages.title(event),
        body=messages.text(event),
    )


def compose(email: Email, event: AlertEvent, *, sender: str) -> EmailMessage:
    """The MIME message: one text/plain part, every recipient on ``To``."""
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = ", ".join(email.recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["X-Vigil-Event-Id"] = event.id
    message.set_content(email.body)
    return message


def validate(config: Mapping[str, Any]) -> Issues:
    recipients = config.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        return [("config.recipients", "must be a non-empty list of email addresses")]
    bad = [r for r in recipients if not isinstance(r, str) or not _ADDRESS.fullmatch(r.strip())]
    if bad:
        shown = ", ".join(repr(r) for r in bad[:3])
        return [("config.recipients", f"must be email addresses like ops@example.com, not {shown}")]
    return []


def mask(config: Mapping[str, Any]) -> dict[str, Any]:
    """Recipients are not secret; the SMTP password lives in the server settings."""
    return dict(config)


async def deliver(channel: ChannelSpec, event: AlertEvent, ctx: DeliveryContext) -> Delivery:
    issues = validate(channel.config)
    if issues:
        return misconfigured(channel, issues)
    email = render(event, channel.config)
    return await send(compose(email, event, sender=ctx.smtp_from), email.recipients, ctx)


async def send(
    message: EmailMessage, recipients: tuple[str, ...], ctx: DeliveryContext
) -> Delivery:
    """Send a composed message through the SMTP server of ``ctx`` (alerts and invitations)."""
    try:
        await asyncio.to_thread(_send, message, recipients, ctx)
    except _SmtpFailure as failure:
        return Delivery(ok=False, permanent=failure.permanent, error=str(failure))
    return Delivery(ok=True)


def _send(message: EmailMessage, recipients: tuple[str, ...], ctx: DeliveryContext) -> None:
    server = f"SMTP server {ctx.smtp_host}:{ctx.smtp_port}"
    stage = "connect"
    try:
        with _connect(ctx) as smtp:
            if ctx.smtp_starttls:
                stage = "STARTTLS"
                smtp.starttls(context=ctx.ssl_context)
            if ctx.smtp_user and ctx.smtp_password:
                stage = "login"
                smtp.login(ctx.smtp_user, ctx.smtp_password)
            stage = "send"
            refused = smtp.send_message(message, from_addr=ctx.smtp_from, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise _SmtpFailure(
            f"{server} rejected the login of {ctx.smtp_user!r} ({_said(exc)}); "
            "check VIGIL_SMTP_USER and VIGIL_SMTP_PASSWORD",
            permanent=True,
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise _SmtpFailure(_unsupported(server, stage), permanent=True) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refused(server, exc.recipients, delivered=()) from None
    except smtplib.SMTPSenderRefused as exc:
        raise _SmtpFailure(
            f"{server} refused the sender {ctx.smtp_from!r} ({_said(exc)}); "
            "check VIGIL_SMTP_FROM, and VIGIL_SMTP_USER/PASSWORD if it needs a login",
            permanent=exc.smtp_code >= 500,
        ) from None
    except smtplib.SMTPResponseException as exc:
        advice = "retrying will not help" if exc.smtp_code >= 500 else "will retry"
        raise _SmtpFailure(
            f"{server} answered {_said(exc)} at {stage}; {advice}",
            permanent=exc.smtp_code >= 500,
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise _SmtpFailure(_network_error(server, exc, ctx), permanent=False) from None
    if refused:
        delivered = tuple(r for r in recipients if r not in refused)
        raise _refused(server, refused, delivered=delivered)


def _unsupported(server: str, stage: str) -> str:
    if stage == "STARTTLS":
        return (
            f"{server} does not offer STARTTLS; set VIGIL_SMTP_STARTTLS=false, "
            "or use port 465 for implicit TLS"
        )
    return (
        f"{server} does not offer login (AUTH) on this connection; many servers offer it "
        "only after STARTTLS: set VIGIL_SMTP_STARTTLS=true, or unset VIGIL_SMTP_USER"
    )


def _connect(ctx: DeliveryContext) -> smtplib.SMTP:
    if ctx.smtp_port == _IMPLICIT_TLS_PORT and not ctx.smtp_starttls:
        return smtplib.SMTP_SSL(
            ctx.smtp_host, ctx.smtp_port, timeout=ctx.timeout_s, context=ctx.ssl_context
        )
    return smtplib.SMTP(ctx.smtp_host, ctx.smtp_port, timeout=ctx.timeout_s)


def _refused(
    server: str, refused: Mapping[str, tuple[int, bytes]], *, delivered: tuple[str, ...]
) -> _SmtpFailure:
    which = ", ".join(
        f"{addr} ({code} {text.decode(errors='replace')})" for addr, (code, text) in refused.items()
    )
    sent = f"sent to {', '.join(delivered)}, but " if delivered else ""
    permanent = bool(delivered) or all(code >= 500 for code, _ in refused.values())
    advice = "fix the channel's recipients" if permanent else "will retry"
    return _SmtpFailure(f"{sent}{server} refused {which}; {advice}", permanent=permanent)


def _network_error(server: str, exc: BaseException, ctx: DeliveryContext) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return (
            f"could not connect to {server}: connection refused; check VIGIL_SMTP_HOST and "
            "VIGIL_SMTP_PORT and that the server is running, will retry"
        )
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return f"{server} did not answer within {ctx.timeout_s:g} s; will retry"
    if isinstance(exc, socket.gaierror):
        return f"the SMTP host name could not be resolved ({exc.strerror}); check VIGIL_SMTP_HOST"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the TLS certificate of {server} is not trusted ({exc.verify_message}); "
            "give it a certificate from a public CA or add its CA to Vigil's trust store"
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{server} closed the connection ({exc or 'no reason given'}); will retry"
    return f"sending through {server} failed: {exc}; will retry"


def _said(exc: smtplib.SMTPResponseException) -> str:
    text = (
        exc.smtp_error.decode(errors="replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return f"{exc.smtp_code} {text}"
