from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import trustme

from alerting.channels import email
from alerting.channels.base import ChannelSpec, DeliveryContext
from tests.alerting.events import down_event, up_event
from tests.servers.receivers import SilentServer, SmtpReceiver, refused_port

RECIPIENTS = ["ops@example.com", "oncall@example.com"]
CHANNEL = ChannelSpec(id="ch_e", name="Ops mail", type="EMAIL", config={"recipients": RECIPIENTS})


def test_render_subject_and_body() -> None:
    rendered = email.render(down_event(), {"recipients": RECIPIENTS})
    assert rendered.recipients == ("ops@example.com", "oncall@example.com")
    assert rendered.subject == "[DOWN] Production API (https://api.example.com/health)"
    assert rendered.body.startswith("Production API is DOWN.\n\nMonitor: Production API\n")


async def test_deliver_down_email_reaches_every_recipient(
    smtp_receiver: SmtpReceiver, delivery_ctx: DeliveryContext
) -> None:
    delivery = await email.deliver(CHANNEL, down_event(), delivery_ctx)
    assert delivery.ok, delivery.error
    (mail,) = await smtp_receiver.wait_for(1)
    assert mail.mail_from == "vigil@example.com"
    assert mail.rcpt_tos == ("ops@example.com", "oncall@example.com")
    assert mail.subject == "[DOWN] Production API (https://api.example.com/health)"
    assert mail.message["To"] == "ops@example.com, oncall@example.com"
    assert mail.message["X-Vigil-Event-Id"] == "evt_down_1"
    assert "Cause: Connection refused\n" in mail.text
    assert "Regions: eu-west, us-east\n" in mail.text
    assert "Started: 2026-03-01T12:00:00Z (Sunday 1 March 2026, 12:00:00 UTC)\n" in mail.text


async def test_deliver_recovery_email_says_how_long_it_was_down(
    smtp_receiver: SmtpReceiver, delivery_ctx: DeliveryContext
) -> None:
    delivery = await email.deliver(CHANNEL, up_event(), delivery_ctx)
    assert delivery.ok, delivery.error
    (mail,) = await smtp_receiver.wait_for(1)
    assert mail.subject == "[RECOVERED] Production API (https://api.example.com/health)"
    assert mail.text.startswith("Production API has RECOVERED: down for 4 min 12 s.\n")


async def test_deliver_logs_in_when_credentials_are_set() -> None:
    async with SmtpReceiver(auth=("alerts", "s3cret pass")) as receiver:
        ctx = DeliveryContext(
            smtp_port=receiver.port, smtp_user="alerts", smtp_password="s3cret pass"
        )
        delivery = await email.deliver(CHANNEL, down_event(), ctx)
        assert delivery.ok, delivery.error
        (mail,) = await receiver.wait_for(1)
    assert mail.login == "alerts"


async def test_deliver_wrong_password_is_permanent_and_names_settings() -> None:
    async with SmtpReceiver(auth=("alerts", "s3cret pass")) as receiver:
        ctx = DeliveryContext(smtp_port=receiver.port, smtp_user="alerts", smtp_password="nope")
        delivery = await email.deliver(CHANNEL, down_event(), ctx)
    assert not delivery.ok and delivery.permanent
    assert delivery.error == (
        f"SMTP server 127.0.0.1:{receiver.port} rejected the login of 'alerts' "
        "(535 5.7.8 Authentication credentials invalid); "
        "check VIGIL_SMTP_USER and VIGIL_SMTP_PASSWORD"
    )


async def test_deliver_refused_recipient_is_permanent_and_says_who_got_it() -> None:
    async with SmtpReceiver(reject={"oncall@example.com"}) as receiver:
        delivery = await email.deliver(
            CHANNEL, down_event(), DeliveryContext(smtp_port=receiver.port)
        )
        (mail,) = await receiver.wait_for(1)
    assert mail.rcpt_tos == ("ops@example.com",)
    assert not delivery.ok and delivery.permanent
    assert delivery.error == (
        f"sent to ops@example.com, but SMTP server 127.0.0.1:{receiver.port} refused "
        "oncall@example.com (550 5.1.1 <oncall@example.com>: mailbox unavailable); "
        "fix the channel's recipients"
    )


async def test_deliver_server_down_is_retryable() -> None:
    with refused_port() as port:
        delivery = await email.deliver(CHANNEL, down_event(), DeliveryContext(smtp_port=port))
    assert not delivery.ok and not delivery.permanent
    assert delivery.error == (
        f"could not connect to SMTP server 127.0.0.1:{port}: connection refused; "
        "check VIGIL_SMTP_HOST and VIGIL_SMTP_PORT and that the server is running, will retry"
    )


async def test_deliver_silent_server_times_out_retryable() -> None:
    async with SilentServer() as silent:
        ctx = DeliveryContext(smtp_port=silent.port, timeout_s=0.3)
        delivery = await email.deliver(CHANNEL, down_event(), ctx)
    assert not delivery.ok and not delivery.permanent
    assert delivery.error == (
        f"SMTP server 127.0.0.1:{silent.port} did not answer within 0.3 s; will retry"
    )


@pytest.fixture
async def tls_smtp() -> AsyncIterator[tuple[SmtpReceiver, ssl.SSLContext]]:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    async with SmtpReceiver(starttls=server_ctx) as receiver:
        yield receiver, client_ctx


async def test_deliver_starttls_verifies_with_context_ca(
    tls_smtp: tuple[SmtpReceiver, ssl.SSLContext],
) -> None:
    receiver, client_ctx = tls_smtp
    ctx = DeliveryContext(smtp_port=receiver.port, smtp_starttls=True, ssl_context=client_ctx)
    delivery = await email.deliver(CHANNEL, down_event(), ctx)
    assert delivery.ok, delivery.error
    (mail,) = await receiver.wait_for(1)
    assert mail.tls


async def test_deliver_without_starttls_to_server_requiring_it_is_permanent(
    tls_smtp: tuple[SmtpReceiver, ssl.SSLContext],
) -> None:
    receiver, _ = tls_smtp
    delivery = await email.deliver(CHANNEL, down_event(), DeliveryContext(smtp_port=receiver.port))
    assert not delivery.ok and delivery.permanent
    assert delivery.error is not None and "530" in delivery.error
    assert "STARTTLS" in delivery.error


async def test_deliver_starttls_untrusted_certificate_is_explained(
    tls_smtp: tuple[SmtpReceiver, ssl.SSLContext],
) -> None:
    receiver, _ = tls_smtp
    ctx = DeliveryContext(smtp_port=receiver.port, smtp_starttls=True)
    delivery = await email.deliver(CHANNEL, down_event(), ctx)
    assert not delivery.ok and not delivery.permanent
    assert delivery.error is not None
    assert delivery.error.startswith(
        f"the TLS certificate of SMTP server 127.0.0.1:{receiver.port} is not trusted"
    )


async def test_deliver_starttls_to_plain_server_is_permanent(
    smtp_receiver: SmtpReceiver, delivery_ctx: DeliveryContext
) -> None:
    delivery = await email.deliver(CHANNEL, down_event(), replace(delivery_ctx, smtp_starttls=True))
    assert not delivery.ok and delivery.permanent
    assert delivery.error == (
        f"SMTP server 127.0.0.1:{smtp_receiver.port} does not offer STARTTLS; "
        "set VIGIL_SMTP_STARTTLS=false, or use port 465 for implicit TLS"
    )


@pytest.mark.parametrize(
    ("config", "issue"),
    [
        pytest.param({}, "must be a non-empty list of email addresses", id="missing"),
        pytest.param({"recipients": []}, "must be a non-empty list of email addresses", id="empty"),
        pytest.param(
            {"recipients": "ops@example.com"},
            "must be a non-empty list of email addresses",
            id="string",
        ),
        pytest.param(
            {"recipients": ["ops@example.com", "not-an-address", "a b@example.com"]},
            "must be email addresses like ops@example.com, not 'not-an-address', 'a b@example.com'",
            id="bad-addresses",
        ),
    ],
)
def test_validate_rejects_bad_recipients(config: dict[str, object], issue: str) -> None:
    assert email.validate(config) == [("config.recipients", issue)]


def test_validate_accepts_addresses() -> None:
    assert email.validate({"recipients": ["ops@example.com", "vigil@localhost"]}) == []
