"""Every alert channel kind held to the target policy, against real loopback receivers.

SLACK, WEBHOOK and APPRISE URLs are the organization's choice: refused for an
untrusted organization (nothing reaches the receiver), delivered for a trusted one.
PAGERDUTY's events URL and EMAIL's SMTP server are the operator's settings, so an
untrusted organization's alerts still go there.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from alerting.channels.base import ChannelSpec, DeliveryContext
from alerting.channels.registry import deliver_via
from checks.target_policy import parse_networks
from tests.alerting.events import down_event
from tests.servers.receivers import HttpReceiver, SmtpReceiver

REFUSED = "Refused to connect: "


def channel(kind: str, config: dict[str, object], *, trusted: bool) -> ChannelSpec:
    return ChannelSpec(id="ch_p", name="Ops", type=kind, config=config, trusted=trusted)


def http_config(kind: str, receiver: HttpReceiver, host: str = "127.0.0.1") -> dict[str, object]:
    base = f"{host}:{receiver.port}"
    return {
        "SLACK": {"webhookUrl": f"http://{base}/slack"},
        "WEBHOOK": {"url": f"http://{base}/hook", "secret": "whsec_0123456789abcdef"},
        "APPRISE-json": {"url": f"json://{base}/in"},
        "APPRISE-form": {"url": f"form://{base}/in"},
        "APPRISE-xml": {"url": f"xml://{base}/in"},
    }[kind]


HTTP_KINDS = ["SLACK", "WEBHOOK", "APPRISE-json", "APPRISE-form", "APPRISE-xml"]


@pytest.mark.parametrize(
    ("kind", "host"),
    [
        pytest.param(kind, host, id=f"{kind}-{host}")
        for kind in HTTP_KINDS
        for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]")
        # Apprise cannot parse an IPv6 literal in a URL at all.
        if not (kind.startswith("APPRISE") and host.startswith("["))
    ],
)
async def test_http_channels_to_loopback_refused_untrusted(
    kind: str, host: str, http_receiver: HttpReceiver
) -> None:
    spec = channel(kind.split("-")[0], http_config(kind, http_receiver, host), trusted=False)
    delivery = await deliver_via(spec, down_event(), DeliveryContext(timeout_s=5))
    assert not delivery.ok and delivery.permanent
    assert delivery.error is not None and REFUSED in delivery.error
    assert "loopback" in delivery.error and "vigil admin trust-org" in delivery.error
    assert http_receiver.requests == []


@pytest.mark.parametrize("kind", HTTP_KINDS)
async def test_http_channels_to_loopback_delivered_trusted(
    kind: str, http_receiver: HttpReceiver
) -> None:
    spec = channel(kind.split("-")[0], http_config(kind, http_receiver), trusted=True)
    delivery = await deliver_via(spec, down_event(), DeliveryContext(timeout_s=5))
    assert delivery.ok, delivery.error
    (request,) = await http_receiver.wait_for(1)
    assert "Production" in request.body.decode()  # form:// encodes the space as "+"


@pytest.mark.parametrize("kind", ["SLACK", "WEBHOOK", "APPRISE-json"])
async def test_allowed_network_is_delivered_untrusted(
    kind: str, http_receiver: HttpReceiver
) -> None:
    # The pinned path (connect to the judged address, Host kept) really delivers.
    ctx = DeliveryContext(timeout_s=5, allowed_targets=parse_networks("127.0.0.0/8"))
    spec = channel(kind.split("-")[0], http_config(kind, http_receiver, "localhost"), trusted=False)
    delivery = await deliver_via(spec, down_event(), ctx)
    assert delivery.ok, delivery.error
    (request,) = await http_receiver.wait_for(1)
    assert request.header("host") == f"localhost:{http_receiver.port}"


@pytest.fixture
def udp_listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def _datagrams(sock: socket.socket, *, wait_s: float) -> list[bytes]:
    """What arrived; waits up to ``wait_s`` for the first datagram."""
    deadline = time.monotonic() + wait_s
    got: list[bytes] = []
    while True:
        try:
            got.append(sock.recv(65536))
        except BlockingIOError:
            if got or time.monotonic() >= deadline:
                return got
            time.sleep(0.01)  # polling a non-blocking socket until the deadline


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_apprise_udp_syslog_matrix(udp_listener: socket.socket, trusted: bool) -> None:
    port = udp_listener.getsockname()[1]
    spec = channel("APPRISE", {"url": f"rsyslog://127.0.0.1:{port}"}, trusted=trusted)
    delivery = await deliver_via(spec, down_event(), DeliveryContext(timeout_s=5))
    if trusted:
        assert delivery.ok, delivery.error
        received = await asyncio.to_thread(_datagrams, udp_listener, wait_s=5)
        assert received and b"Production API" in received[0]
    else:
        assert not delivery.ok and delivery.permanent
        assert delivery.error is not None and REFUSED + "127.0.0.1, a loopback" in delivery.error
        # A datagram sent would already be queued on the socket: none is.
        assert _datagrams(udp_listener, wait_s=0) == []


async def test_pagerduty_events_url_is_the_operators_so_not_judged(
    http_receiver: HttpReceiver, pagerduty_ctx: DeliveryContext
) -> None:
    spec = channel("PAGERDUTY", {"routingKey": "R0123456789ABCDEF0123456789ABCDEF"}, trusted=False)
    delivery = await deliver_via(spec, down_event(), pagerduty_ctx)
    assert delivery.ok, delivery.error
    await http_receiver.wait_for(1)


async def test_email_smtp_server_is_the_operators_so_not_judged(
    smtp_receiver: SmtpReceiver, delivery_ctx: DeliveryContext
) -> None:
    spec = channel("EMAIL", {"recipients": ["ops@example.com"]}, trusted=False)
    delivery = await deliver_via(spec, down_event(), delivery_ctx)
    assert delivery.ok, delivery.error
