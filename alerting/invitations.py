"""Invitation emails: the one-time token and how to exchange it, through the SMTP settings."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from alerting.channels.base import Delivery, DeliveryContext
from alerting.channels.email import send


def render(
    *, to: str, org_name: str, token: str, api_url: str, expires_at: datetime, sender: str
) -> EmailMessage:
    """The invitation: a plain-text email with the curl command that accepts it."""
    message = EmailMessage()
    message["Subject"] = f"You are invited to {org_name} on Vigil"
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(
        f"You have been invited to the organization {org_name} on Vigil.\n\n"
        "Exchange this one-time token for your own API key (it is shown once):\n\n"
        f"  curl -X POST {api_url}/api/team/accept \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"token": "{token}"}}\'\n\n'
        f"The token expires at {expires_at.strftime('%Y-%m-%d %H:%M UTC')}.\n"
    )
    return message


async def send_invitation(
    ctx: DeliveryContext,
    *,
    to: str,
    org_name: str,
    token: str,
    api_url: str,
    expires_at: datetime,
) -> Delivery:
    message = render(
        to=to,
        org_name=org_name,
        token=token,
        api_url=api_url,
        expires_at=expires_at,
        sender=ctx.smtp_from,
    )
    return await send(message, (to,), ctx)
