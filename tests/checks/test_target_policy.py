"""The target policy: which addresses are refused, and every check type held to it.

The matrix runs each check type against a real loopback server twice: from an
untrusted organization (refused before any packet leaves: the server sees no
connection) and from a trusted one (the check reaches the server).
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from checks import dns, http, ping, ssl, tcp
from checks.base import CheckContext, MonitorSpec
from checks.target_policy import TargetPolicy, classify, parse_networks
from tests.servers.dns import DnsServer
from tests.servers.http import HttpServer
from tests.servers.tcp import TcpServer
from tests.servers.tls import Pki

UNTRUSTED = TargetPolicy(trusted=False)
HOW = "vigil admin trust-org"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        pytest.param("127.0.0.1", "a loopback address", id="loopback"),
        pytest.param("127.255.255.254", "a loopback address", id="loopback-top"),
        pytest.param("0.0.0.0", "an unspecified", id="unspecified-v4"),
        pytest.param("10.0.0.1", "a private address", id="10/8"),
        pytest.param("172.16.0.0", "a private address", id="172.16/12-first"),
        pytest.param("172.31.255.255", "a private address", id="172.16/12-last"),
        pytest.param("192.168.1.1", "a private address", id="192.168/16"),
        pytest.param("169.254.169.254", "link-local", id="cloud-metadata"),
        pytest.param("100.64.0.0", "carrier-grade NAT", id="cgnat-first"),
        pytest.param("100.127.255.255", "carrier-grade NAT", id="cgnat-last"),
        pytest.param("224.0.0.1", "a multicast address", id="multicast-v4"),
        pytest.param("255.255.255.255", "a reserved address", id="broadcast"),
        pytest.param("::", "the unspecified address", id="unspecified-v6"),
        pytest.param("::1", "a loopback address", id="loopback-v6"),
        pytest.param("fd12:3456::1", "unique-local", id="ula"),
        pytest.param("fc00::1", "unique-local", id="ula-fc"),
        pytest.param("fe80::1", "a link-local address", id="link-local-v6"),
        pytest.param("ff02::1", "a multicast address", id="multicast-v6"),
        pytest.param("::ffff:127.0.0.1", "embeds 127.0.0.1, a loopback", id="v4-mapped"),
        pytest.param("::ffff:169.254.169.254", "embeds 169.254.169.254", id="v4-mapped-metadata"),
        pytest.param("::127.0.0.1", "embeds 127.0.0.1", id="v4-compatible"),
        pytest.param("2002:7f00:1::", "embeds 127.0.0.1", id="6to4"),
        pytest.param("2002:a00:1::1", "embeds 10.0.0.1, a private", id="6to4-private"),
        pytest.param("64:ff9b::7f00:1", "embeds 127.0.0.1", id="nat64"),
        pytest.param("64:ff9b:1::a00:1", "embeds 10.0.0.1", id="nat64-local-use"),
        # Teredo: the client address is stored inverted (0x80ffffae = ~127.0.0.81).
        pytest.param("2001:0:4136:e378:8000:63bf:80ff:ffae", "embeds 127.0.0.81", id="teredo"),
    ],
)
def test_refused_addresses_say_what_they_are(address: str, kind: str) -> None:
    why = UNTRUSTED.refusal(address)
    assert why is not None and kind in why
    assert HOW in why and "VIGIL_ALLOWED_TARGETS" in why
    assert TargetPolicy(trusted=True).refusal(address) is None


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("8.8.8.8", id="public-v4"),
        pytest.param("172.15.255.255", id="just-below-172.16/12"),
        pytest.param("172.32.0.0", id="just-above-172.16/12"),
        pytest.param("100.63.255.255", id="just-below-cgnat"),
        pytest.param("100.128.0.0", id="just-above-cgnat"),
        pytest.param("169.253.255.255", id="just-below-link-local"),
        pytest.param("11.0.0.0", id="just-above-10/8"),
        pytest.param("2606:4700:4700::1111", id="public-v6"),
        pytest.param("::ffff:8.8.8.8", id="v4-mapped-public"),
        pytest.param("64:ff9b::808:808", id="nat64-public"),
        pytest.param("2002:808:808::1", id="6to4-public"),
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert UNTRUSTED.refusal(address) is None


def test_refusal_names_the_host_it_came_from() -> None:
    why = UNTRUSTED.refusal("127.0.0.1", host="localhost")
    assert why is not None
    assert why.startswith("Refused to connect: localhost resolves to 127.0.0.1, a loopback")


def test_allowed_networks_open_exactly_their_range() -> None:
    policy = TargetPolicy(trusted=False, allowed=parse_networks("10.1.0.0/16, 127.0.0.1"))
    assert policy.refusal("10.1.255.255") is None
    assert policy.refusal("127.0.0.1") is None
    assert policy.refusal("10.2.0.0") is not None
    assert policy.refusal("127.0.0.2") is not None


def test_parse_networks_names_a_bad_entry() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not an IP network"):
        parse_networks("10.0.0.0/8,10.0.0.0/33")


def test_classify_scope_id_and_garbage() -> None:
    assert UNTRUSTED.refusal("fe80::1%eth0") is not None
    assert UNTRUSTED.refusal("not-an-ip") is not None
    assert classify(ipaddress.ip_address("1.1.1.1")) is None


# --- the matrix: every check type against loopback -----------------------------------


def spec(type_: str, url: str, *, trusted: bool, **config: Any) -> MonitorSpec:
    return MonitorSpec(
        id="mon_p", name="p", type=type_, url=url, timeout_s=3, config=config, trusted=trusted
    )


@pytest.fixture
async def web() -> AsyncIterator[HttpServer]:
    async with HttpServer() as server:
        yield server


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.1", id="v4"),
        pytest.param("localhost", id="name"),
        pytest.param("[::ffff:127.0.0.1]", id="v4-mapped"),
    ],
)
async def test_http_to_loopback_refused_untrusted(
    web: HttpServer, check_ctx: CheckContext, host: str
) -> None:
    result = await http.run(
        spec("HTTP", web.url("/status/200", host=host), trusted=False), check_ctx
    )
    assert result.status == "DOWN"
    assert result.error is not None and result.error.startswith("Refused to connect: ")
    assert "loopback" in result.error and HOW in result.error
    assert web.connections == 0


async def test_http_to_loopback_allowed_trusted(web: HttpServer, check_ctx: CheckContext) -> None:
    result = await http.run(spec("HTTP", web.url("/status/200"), trusted=True), check_ctx)
    assert result.status == "UP", result.error
    assert web.connections == 1


async def test_http_redirect_hop_to_loopback_refused(
    web: HttpServer, check_ctx: CheckContext
) -> None:
    # The first hop is allowed (an allowed network stands in for a public site);
    # its redirect to another loopback address is judged again, and refused.
    ctx = replace(check_ctx, allowed_targets=parse_networks("127.0.0.1"))
    url = web.url(f"/redirect-to?url=http://127.0.0.2:{web.port}/status/200")
    result = await http.run(spec("HTTP", url, trusted=False), ctx)
    assert result.status == "DOWN"
    assert result.error is not None
    assert result.error.startswith("Refused to connect: 127.0.0.2, a loopback address")
    assert result.details["redirects"] == [{"url": url, "status": 302}]
    assert web.connections == 1


async def test_http_allowed_network_connects_to_the_judged_address(
    check_ctx: CheckContext, pki: Pki
) -> None:
    # A name resolving to an allowed address is reached at that address, with the
    # name as Host and TLS server name (so the certificate still verifies).
    async with (
        HttpServer(ssl_context=Pki.server_context(pki.good)) as server,
        DnsServer({"vigil.test.": {"A": ["127.0.0.1"]}}) as names,
    ):
        ctx = replace(
            check_ctx,
            nameservers=(names.address,),
            allowed_targets=parse_networks("127.0.0.1/32"),
        )
        url = server.url("/echo", host="vigil.test")
        result = await http.run(spec("HTTP", url, trusted=False), ctx)
    assert result.status == "UP", result.error
    assert result.details["resolvedIp"] == "127.0.0.1"
    assert server.requests[0].headers["host"] == f"vigil.test:{server.port}"
    assert server.sni_names == ["vigil.test"]
    # One lookup per hop: nothing left for a rebinding answer to change.
    assert names.queries == [("vigil.test.", "A")]


async def test_http_name_resolving_to_loopback_refused(
    web: HttpServer, check_ctx: CheckContext
) -> None:
    async with DnsServer({"inside.test.": {"A": ["127.0.0.1"]}}) as names:
        ctx = replace(check_ctx, nameservers=(names.address,))
        result = await http.run(spec("HTTP", web.url("/", host="inside.test"), trusted=False), ctx)
    assert result.error is not None
    assert result.error.startswith("Refused to connect: inside.test resolves to 127.0.0.1")
    assert web.connections == 0


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_tcp_matrix(check_ctx: CheckContext, trusted: bool) -> None:
    async with TcpServer(replies={b"PING": b"+PONG\r\n"}) as server:
        monitor = spec("TCP", server.url(), trusted=trusted, send="PING\r\n", expect="+PONG")
        result = await tcp.run(monitor, check_ctx)
    if trusted:
        assert result.status == "UP", result.error
        assert server.received == [b"PING\r\n"]
    else:
        assert result.status == "DOWN"
        assert result.error is not None and result.error.startswith("Refused to connect: ")
        assert server.connections == 0 and server.received == []


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_ssl_matrix(check_ctx: CheckContext, pki: Pki, trusted: bool) -> None:
    async with HttpServer(ssl_context=Pki.server_context(pki.good)) as server:
        monitor = spec("SSL", f"localhost:{server.port}", trusted=trusted)
        result = await ssl.run(monitor, check_ctx)
        connections = server.connections
    if trusted:
        assert result.error is None and result.details["verified"] is True
    else:
        assert result.status == "DOWN"
        assert result.error is not None
        assert result.error.startswith("Refused to connect: localhost resolves to 127.0.0.1")
        assert connections == 0


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_dns_nameserver_matrix(check_ctx: CheckContext, trusted: bool) -> None:
    async with DnsServer({"api.test.": {"A": ["192.0.2.10"]}}) as names:
        monitor = spec("DNS", "api.test", trusted=trusted, nameserver=names.address)
        result = await dns.run(monitor, check_ctx)
    if trusted:
        assert result.status == "UP", result.error
        assert names.queries == [("api.test.", "A")]
    else:
        assert result.status == "DOWN"
        assert result.error == (
            f"DNS: nameserver {names.address}: Refused to connect: 127.0.0.1, a loopback "
            "address; this organization may reach public addresses only (an operator can "
            "allow internal targets for this organization with 'vigil admin trust-org "
            "<organization slug>', or for everyone with "
            "VIGIL_ALLOWED_TARGETS=<network>[,<network>...])"
        )
        assert names.queries == []


async def test_dns_operator_nameserver_is_not_judged(check_ctx: CheckContext) -> None:
    # VIGIL_DNS_NAMESERVERS / resolv.conf are the operator's, often a local resolver.
    async with DnsServer({"api.test.": {"A": ["192.0.2.10"]}}) as names:
        ctx = replace(check_ctx, nameservers=(names.address,))
        result = await dns.run(spec("DNS", "api.test", trusted=False), ctx)
    assert result.status == "UP", result.error


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_ping_matrix(check_ctx: CheckContext, trusted: bool) -> None:
    result = await ping.run(spec("PING", "127.0.0.1", trusted=trusted, count=1), check_ctx)
    refused = result.error is not None and result.error.startswith("Refused to connect: ")
    # A trusted ping may still fail for want of ICMP permission, never for the policy.
    assert refused is not trusted
    if not trusted:
        assert result.status == "DOWN" and result.details == {}
