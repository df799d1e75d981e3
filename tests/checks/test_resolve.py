"""Resolving a target's host: literals, the hosts file, and a real DNS server on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from checks.base import CheckContext
from checks.resolve import ResolveError, resolve
from checks.target_policy import TargetPolicy
from tests.servers.dns import DnsServer

TRUSTED = TargetPolicy(trusted=True)

ZONE = {
    "api.example.com.": {"A": ["10.1.2.3", "10.1.2.4"], "AAAA": ["2001:db8::1"]},
    "v6.example.com.": {"AAAA": ["2001:db8::2"]},
    "www.example.com.": {"CNAME": ["api.example.com."]},
    "slow.example.com.": {"A": ["10.9.9.9"]},
}
API_ADDRESSES = {"10.1.2.3", "10.1.2.4"}


@pytest.fixture
async def dns_ctx(check_ctx: CheckContext) -> AsyncIterator[tuple[CheckContext, DnsServer]]:
    async with DnsServer(ZONE) as server:
        yield replace(check_ctx, nameservers=(server.address,)), server


@pytest.mark.parametrize(
    ("host", "address", "family"),
    [
        pytest.param("127.0.0.1", "127.0.0.1", socket.AF_INET, id="v4"),
        pytest.param("::1", "::1", socket.AF_INET6, id="v6"),
        pytest.param("[::1]", "::1", socket.AF_INET6, id="v6-bracketed"),
    ],
)
async def test_resolve_ip_literal_skips_dns(
    check_ctx: CheckContext, host: str, address: str, family: socket.AddressFamily
) -> None:
    resolved = await resolve(host, check_ctx, timeout=1, policy=TRUSTED)
    assert (resolved.address, resolved.family, resolved.dns_ms) == (address, family, None)


async def test_resolve_localhost_from_hosts_file(check_ctx: CheckContext) -> None:
    # No nameserver is reachable here: an answer proves the hosts file was read.
    ctx = replace(check_ctx, nameservers=("127.0.0.1:9",))
    resolved = await resolve("localhost", ctx, timeout=1, policy=TRUSTED)
    assert resolved.address == "127.0.0.1"
    assert resolved.dns_ms is not None and resolved.dns_ms < 50


async def test_resolve_prefers_a_records(dns_ctx: tuple[CheckContext, DnsServer]) -> None:
    ctx, server = dns_ctx
    resolved = await resolve("api.example.com", ctx, timeout=2, policy=TRUSTED)
    assert resolved.address in API_ADDRESSES  # record order carries no meaning in DNS
    assert resolved.family == socket.AF_INET
    assert server.queries == [("api.example.com.", "A")]


async def test_resolve_falls_back_to_aaaa(dns_ctx: tuple[CheckContext, DnsServer]) -> None:
    ctx, server = dns_ctx
    resolved = await resolve("v6.example.com", ctx, timeout=2, policy=TRUSTED)
    assert (resolved.address, resolved.family) == ("2001:db8::2", socket.AF_INET6)
    assert server.queries == [("v6.example.com.", "A"), ("v6.example.com.", "AAAA")]


async def test_resolve_follows_cname(dns_ctx: tuple[CheckContext, DnsServer]) -> None:
    ctx, _ = dns_ctx
    resolved = await resolve("www.example.com", ctx, timeout=2, policy=TRUSTED)
    assert resolved.address in API_ADDRESSES


@pytest.mark.parametrize(
    ("name", "rcode", "message"),
    [
        pytest.param("nope.example.com", None, "DNS: NXDOMAIN for nope.example.com", id="nx"),
        pytest.param("api.example.com", "SERVFAIL", "DNS: SERVFAIL for api.example.com", id="sf"),
        pytest.param("api.example.com", "REFUSED", "DNS: REFUSED for api.example.com", id="ref"),
    ],
)
async def test_resolve_failures_say_what_the_server_said(
    dns_ctx: tuple[CheckContext, DnsServer], name: str, rcode: str | None, message: str
) -> None:
    ctx, server = dns_ctx
    if rcode is not None:
        server.rcode(name + ".", rcode)
    with pytest.raises(ResolveError) as caught:
        await resolve(name, ctx, timeout=2, policy=TRUSTED)
    assert caught.value.message == message


async def test_resolve_timeout_names_the_wait(dns_ctx: tuple[CheckContext, DnsServer]) -> None:
    ctx, server = dns_ctx
    server.drop("api.example.com.")
    started = time.monotonic()
    with pytest.raises(ResolveError) as caught:
        await resolve("api.example.com", ctx, timeout=0.4, policy=TRUSTED)
    assert caught.value.message == "DNS: no answer for api.example.com within 0.4 s"
    assert time.monotonic() - started < 1.0


async def test_resolve_dns_limit_bounds_concurrent_queries(
    dns_ctx: tuple[CheckContext, DnsServer],
) -> None:
    ctx, server = dns_ctx
    server.delay("slow.example.com.", 0.15)
    one_at_a_time = replace(ctx, dns_limit=asyncio.Semaphore(1))
    started = time.monotonic()
    results = await asyncio.gather(
        *(resolve("slow.example.com", one_at_a_time, timeout=3, policy=TRUSTED) for _ in range(3))
    )
    # Three 150 ms lookups, one at a time, cannot finish in under 450 ms.
    assert time.monotonic() - started >= 0.44
    assert [r.address for r in results] == ["10.9.9.9"] * 3
    assert all(r.dns_ms is not None and r.dns_ms >= 140 for r in results)
