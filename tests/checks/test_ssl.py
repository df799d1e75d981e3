"""The SSL check against real TLS servers on loopback with certificates made to order."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trustme
from cryptography import x509

from checks.base import CheckContext, MonitorSpec
from checks.neterrors import NOT_TLS_MESSAGE
from checks.ssl import run, validate_config
from store.clock import FrozenClock
from tests.servers.dns import DnsServer
from tests.servers.tcp import TcpServer
from tests.servers.tls_server import (
    ThreadedTlsServer,
    TlsServer,
    legacy_context,
    self_signed,
    server_context,
)

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer({"secure.test.": {"A": ["127.0.0.1"]}}) as server:
        yield server


def trusting(ca: trustme.CA, *, clock: FrozenClock | None = None, **kwargs: Any) -> CheckContext:
    verify = ssl.create_default_context()
    ca.configure_trust(verify)
    return CheckContext(ssl_verify=verify, clock=clock or FrozenClock(NOW), **kwargs)


def leaf_context(
    ca: trustme.CA,
    *names: str,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> ssl.SSLContext:
    leaf = ca.issue_cert(*names, not_before=not_before, not_after=not_after)
    return server_context(
        b"".join(pem.bytes() for pem in leaf.cert_chain_pems), leaf.private_key_pem.bytes()
    )


def monitor(url: str, *, timeout_s: float = 3.0, **config: Any) -> MonitorSpec:
    return MonitorSpec(
        id="m1", name="tls", type="SSL", url=url, timeout_s=timeout_s, config=config, trusted=True
    )


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@pytest.fixture
async def valid_server(ca: trustme.CA) -> AsyncIterator[TlsServer]:
    context = leaf_context(ca, "localhost", "secure.test", not_after=NOW + timedelta(days=90))
    async with TlsServer(context) as server:
        yield server


async def test_run_reports_valid_certificate(ca: trustme.CA, valid_server: TlsServer) -> None:
    result = await run(monitor(f"localhost:{valid_server.port}"), trusting(ca))

    assert result.status == "UP", result.error
    assert result.error is None
    details = result.details
    assert details["verified"] is True
    assert details["protocol"] in ("TLSv1.2", "TLSv1.3")
    assert details["cipher"]
    assert details["subjectAltNames"] == ["localhost", "secure.test"]
    assert "trustme" in details["issuer"]
    assert details["notAfter"] == (NOW + timedelta(days=90)).isoformat()
    assert details["daysRemaining"] == 90
    assert details["resolvedIp"] == "127.0.0.1"
    timings = result.timings
    assert timings.tcp is not None and timings.tls is not None and timings.total is not None
    assert timings.total >= timings.tcp + timings.tls
    assert result.response_time_ms == round(timings.total)


async def test_run_resolves_name_through_dns(
    ca: trustme.CA, valid_server: TlsServer, dns_server: DnsServer
) -> None:
    ctx = trusting(ca, nameservers=(dns_server.address,))

    result = await run(monitor(f"https://secure.test:{valid_server.port}/health"), ctx)

    assert result.status == "UP", result.error
    assert result.details["serverName"] == "secure.test"
    assert result.details["resolvedIp"] == "127.0.0.1"
    assert result.timings.dns is not None
    assert ("secure.test.", "A") in dns_server.queries


async def test_run_uses_server_name_for_ip_target(ca: trustme.CA, valid_server: TlsServer) -> None:
    result = await run(
        monitor(f"127.0.0.1:{valid_server.port}", serverName="secure.test"), trusting(ca)
    )

    assert result.status == "UP", result.error
    assert result.timings.dns is None


async def test_run_degrades_when_expiring_within_warn_days(ca: trustme.CA) -> None:
    not_after = NOW + timedelta(days=5, hours=1)
    async with TlsServer(leaf_context(ca, "localhost", not_after=not_after)) as server:
        result = await run(monitor(f"localhost:{server.port}"), trusting(ca))

    assert result.status == "DEGRADED"
    assert result.error == f"TLS: certificate expires in 5 days ({when(not_after)})"
    assert result.details["daysRemaining"] == 5


async def test_run_stays_up_outside_warn_days(ca: trustme.CA) -> None:
    not_after = NOW + timedelta(days=5, hours=1)
    async with TlsServer(leaf_context(ca, "localhost", not_after=not_after)) as server:
        result = await run(monitor(f"localhost:{server.port}", warnDays=[3, 1]), trusting(ca))

    assert result.status == "UP"
    assert result.error is None


async def test_run_reports_expired_certificate(ca: trustme.CA) -> None:
    not_after = NOW - timedelta(days=3, hours=1)
    context = leaf_context(
        ca, "localhost", not_before=NOW - timedelta(days=90), not_after=not_after
    )
    async with TlsServer(context) as server:
        result = await run(monitor(f"localhost:{server.port}"), trusting(ca))

    assert result.status == "DOWN"
    assert result.error == f"TLS: certificate expired on {when(not_after)} (3 days ago)"
    assert result.details["verified"] is False
    # Agrees with the message: 3 whole days since expiry (not floor(-3.04) = -4).
    assert result.details["daysRemaining"] == -3
    assert result.details["notAfter"] == not_after.isoformat()


async def test_run_reports_expiry_by_injected_clock(
    ca: trustme.CA, valid_server: TlsServer
) -> None:
    clock = FrozenClock(NOW + timedelta(days=100))

    result = await run(monitor(f"localhost:{valid_server.port}"), trusting(ca, clock=clock))

    assert result.status == "DOWN"
    expected_on = when(NOW + timedelta(days=90))
    assert result.error == f"TLS: certificate expired on {expected_on} (10 days ago)"


async def test_run_reports_not_yet_valid_certificate(ca: trustme.CA) -> None:
    not_before = NOW + timedelta(days=2, hours=-1)
    context = leaf_context(
        ca, "localhost", not_before=not_before, not_after=NOW + timedelta(days=90)
    )
    async with TlsServer(context) as server:
        result = await run(monitor(f"localhost:{server.port}"), trusting(ca))

    assert result.status == "DOWN"
    assert result.error == f"TLS: certificate is not valid until {when(not_before)} (in 2 days)"


async def test_run_reports_wrong_host(ca: trustme.CA) -> None:
    context = leaf_context(ca, "other.test", "www.other.test")
    async with TlsServer(context) as server:
        result = await run(monitor(f"localhost:{server.port}"), trusting(ca))

    assert result.status == "DOWN"
    assert result.error == "TLS: certificate is for other.test, www.other.test, not localhost"
    assert result.details["subjectAltNames"] == ["other.test", "www.other.test"]


async def test_run_reports_unknown_authority(ca: trustme.CA) -> None:
    stranger = trustme.CA()
    leaf = stranger.issue_cert("localhost")
    issuer = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).issuer
    context = server_context(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
    async with TlsServer(context) as server:
        result = await run(monitor(f"localhost:{server.port}"), trusting(ca))

    assert result.status == "DOWN"
    shown = repr(issuer.rfc4514_string())
    assert result.error == (
        f"TLS: the server sent only its own certificate, and its issuer {shown} is missing "
        f"and not trusted: serve the full chain (certificate, then the intermediate {shown}), "
        f"or trust {shown} if it is a private CA"
    )
    assert result.details["issuer"] == issuer.rfc4514_string()


async def test_run_reports_self_signed(ca: trustme.CA) -> None:
    cert_pem, key_pem = self_signed("localhost")
    async with TlsServer(server_context(cert_pem, key_pem)) as server:
        result = await run(monitor(f"localhost:{server.port}"), trusting(ca))

    assert result.status == "DOWN"
    assert result.error == "TLS: certificate is self-signed and not trusted (localhost)"
    assert result.details["subject"] == "CN=localhost"


async def test_run_reports_refused_connection(ca: trustme.CA) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed on exit: nothing listens there afterwards

    result = await run(monitor(f"127.0.0.1:{port}"), trusting(ca))

    assert result.status == "DOWN"
    assert result.error == (
        f"TLS: connection to 127.0.0.1:{port} refused (is the service listening on that port?)"
    )


async def test_run_times_out_when_server_never_answers_handshake(ca: trustme.CA) -> None:
    ctx = trusting(ca)  # outside the timing: loading CA stores takes ~0.5 s under load
    async with TlsServer(None) as server:
        started = time.monotonic()
        result = await run(monitor(f"127.0.0.1:{server.port}", timeout_s=0.5), ctx)
        elapsed = time.monotonic() - started

    assert result.status == "DOWN"
    assert result.error is not None
    assert result.error.startswith(f"TLS: no TLS handshake from 127.0.0.1:{server.port} within")
    assert result.timings.tcp is not None
    assert 0.45 <= elapsed < 1.0


async def test_run_reports_unknown_name(ca: trustme.CA, dns_server: DnsServer) -> None:
    ctx = trusting(ca, nameservers=(dns_server.address,))

    result = await run(monitor("nope.test"), ctx)

    assert result.status == "DOWN"
    assert result.error == "DNS: NXDOMAIN for nope.test"


@pytest.mark.parametrize(
    ("config", "issues"),
    [
        pytest.param({}, [], id="defaults"),
        pytest.param({"warnDays": [30, 7], "serverName": "a.test"}, [], id="valid"),
        pytest.param(
            {"warnDays": 30},
            [("config.warnDays", "must be a list of whole numbers of days, 0 or more")],
            id="not-a-list",
        ),
        pytest.param(
            {"warnDays": [7, -1]},
            [("config.warnDays", "must be a list of whole numbers of days, 0 or more")],
            id="negative",
        ),
        pytest.param(
            {"serverName": ""},
            [("config.serverName", "must be a non-empty host name")],
            id="empty-server-name",
        ),
    ],
)
def test_validate_config_names_each_bad_field(
    config: dict[str, Any], issues: list[tuple[str, str]]
) -> None:
    assert validate_config(config) == issues


async def test_run_matches_ip_address_in_certificate(ca: trustme.CA) -> None:
    async with TlsServer(leaf_context(ca, "127.0.0.1")) as server:
        result = await run(monitor(f"127.0.0.1:{server.port}"), trusting(ca))

    assert result.status == "UP", result.error
    assert result.details["subjectAltNames"] == ["127.0.0.1"]


# What nginx on a plain-HTTP port answers a TLS ClientHello with.
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


async def test_run_names_the_missing_intermediate(ca: trustme.CA) -> None:
    intermediate = ca.create_child_ca()
    leaf = intermediate.issue_cert("localhost")
    leaf_pem, chain_pem = leaf.cert_chain_pems[0].bytes(), leaf.cert_chain_pems[1].bytes()
    issuer_name = x509.load_pem_x509_certificate(leaf_pem).issuer
    assert issuer_name == x509.load_pem_x509_certificate(chain_pem).subject
    issuer = issuer_name.rfc4514_string()  # trustme's CAs have no CN to shorten it to
    key = leaf.private_key_pem.bytes()

    async with TlsServer(server_context(leaf_pem, key)) as server:
        result = await run(monitor(f"localhost:{server.port}"), trusting(ca))
    async with TlsServer(server_context(leaf_pem + chain_pem, key)) as server:
        full_chain = await run(monitor(f"localhost:{server.port}"), trusting(ca))

    assert result.status == "DOWN"
    assert result.error == (
        f"TLS: the server sent only its own certificate, and its issuer {issuer!r} is missing "
        f"and not trusted: serve the full chain (certificate, then the intermediate {issuer!r}), "
        f"or trust {issuer!r} if it is a private CA"
    )
    assert full_chain.status == "UP", full_chain.error


async def test_run_says_tls_1_2_is_required_and_still_reports_dates(ca: trustme.CA) -> None:
    not_after = NOW + timedelta(days=40)
    leaf = ca.issue_cert("localhost", not_after=not_after)
    pems = b"".join(pem.bytes() for pem in leaf.cert_chain_pems)
    with ThreadedTlsServer(legacy_context(pems, leaf.private_key_pem.bytes())) as server:
        result = await run(monitor(f"localhost:{server.port}"), trusting(ca))

    assert result.status == "DOWN"
    assert result.error == (
        "TLS: the server offers only TLSv1.1, and TLS 1.2 or newer is required: "
        "enable TLS 1.2 and 1.3 on the server"
    )
    assert result.details["protocol"] == "TLSv1.1"
    assert result.details["notAfter"] == not_after.isoformat()
    assert result.details["daysRemaining"] == 40
    assert result.details["verified"] is False


async def test_run_says_a_plain_http_port_is_not_tls(ca: trustme.CA) -> None:
    async with TcpServer(banner=BAD_REQUEST) as server:
        result = await run(monitor(f"127.0.0.1:{server.port}"), trusting(ca))

    assert result.status == "DOWN"
    assert result.error == NOT_TLS_MESSAGE
    assert result.error == (
        "TLS: the server answered without TLS (it looks like plain HTTP on this port): "
        "use http:// or the port that serves TLS"
    )
