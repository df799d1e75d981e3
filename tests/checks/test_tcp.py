"""TCP check against real sockets on loopback."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from checks import tcp
from checks.base import CheckContext, MonitorSpec
from tests.checks.phases import assert_holds, phase_sum
from tests.servers.dns import DnsServer
from tests.servers.tcp import TcpServer, closed_port, unanswered_port


def monitor(url: str, *, timeout_s: float = 5.0, **config: Any) -> MonitorSpec:
    return MonitorSpec(
        id="mon_tcp",
        name="db",
        type="TCP",
        url=url,
        timeout_s=timeout_s,
        config=config,
        trusted=True,
    )


async def test_tcp_open_port_is_up(check_ctx: CheckContext) -> None:
    async with TcpServer() as srv:
        result = await tcp.run(monitor(srv.url()), check_ctx)
    assert result.status == "UP"
    assert result.error is None
    assert result.details == {"resolvedIp": "127.0.0.1", "port": srv.port}
    assert result.timings.dns is None
    assert result.timings.tcp is not None
    assert result.timings.total == result.timings.tcp
    assert result.checked_at == check_ctx.clock.now()


async def test_tcp_closed_port_is_refused(check_ctx: CheckContext) -> None:
    with closed_port() as port:
        result = await tcp.run(monitor(f"tcp://127.0.0.1:{port}"), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "Connection refused"
    assert result.details == {"resolvedIp": "127.0.0.1", "port": port}


async def test_tcp_connect_timeout(check_ctx: CheckContext) -> None:
    with unanswered_port() as port:
        result = await tcp.run(monitor(f"tcp://127.0.0.1:{port}", timeout_s=0.5), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "Connection timed out after 0.5 s"


async def test_tcp_banner_expected_and_found(check_ctx: CheckContext) -> None:
    async with TcpServer(banner=b"SSH-2.0-OpenSSH_9.6\r\n", banner_delay_s=0.1) as srv:
        result = await tcp.run(monitor(srv.url(host="localhost"), expect="SSH-2.0"), check_ctx)
    assert result.status == "UP", result.error
    assert result.details["reply"] == "SSH-2.0-OpenSSH_9.6\r\n"
    t = result.timings
    assert t.dns is not None and t.ttfb is not None and t.total is not None
    assert_holds(t.ttfb, 100, t)
    assert abs(phase_sum(result) - t.total) <= 1, t
    assert result.size_bytes == len(b"SSH-2.0-OpenSSH_9.6\r\n")


async def test_tcp_banner_mismatch_shows_what_came(check_ctx: CheckContext) -> None:
    async with TcpServer(banner=b"220 mail.example.com ESMTP\r\n") as srv:
        result = await tcp.run(monitor(srv.url(), expect="SSH-2.0", timeout_s=0.5), check_ctx)
    assert result.status == "DOWN"
    assert result.error == (
        "Expected 'SSH-2.0' in the reply within 0.5 s, got '220 mail.example.com ESMTP\\r\\n'"
    )
    assert result.details["reply"] == "220 mail.example.com ESMTP\r\n"


async def test_tcp_send_then_expect_reply(check_ctx: CheckContext) -> None:
    async with TcpServer(replies={b"PING": b"+PONG\r\n"}) as srv:
        ok = await tcp.run(monitor(srv.url(), send="PING\r\n", expect="+PONG"), check_ctx)
        silent = await tcp.run(
            monitor(srv.url(), send="HELLO\r\n", expect="+PONG", timeout_s=0.3), check_ctx
        )
    assert ok.status == "UP", ok.error
    assert srv.received == [b"PING\r\n", b"HELLO\r\n"]
    assert silent.error == "Expected '+PONG' in the reply within 0.3 s, got ''"


async def test_tcp_server_hanging_up_without_expected_text(check_ctx: CheckContext) -> None:
    async with TcpServer(banner=b"bye\r\n", hang_up=True) as srv:
        result = await tcp.run(monitor(srv.url(), expect="SSH", timeout_s=5), check_ctx)
    # No "within 5 s": the server closed; the check did not wait out its timeout.
    assert result.error == "Expected 'SSH' in the reply, got 'bye\\r\\n'"
    assert result.response_time_ms is None


@pytest.mark.parametrize(
    ("url", "error"),
    [
        pytest.param(
            "tcp://db.example.com",
            "Invalid URL 'tcp://db.example.com': use tcp://host:port, like "
            "tcp://db.example.com:5432",
            id="no-port",
        ),
        pytest.param(
            "http://db.example.com:80",
            "Invalid URL 'http://db.example.com:80': use tcp://host:port, like "
            "tcp://db.example.com:5432",
            id="wrong-scheme",
        ),
    ],
)
async def test_tcp_invalid_url(check_ctx: CheckContext, url: str, error: str) -> None:
    result = await tcp.run(monitor(url), check_ctx)
    assert (result.status, result.error) == ("DOWN", error)


async def test_tcp_invalid_config_names_the_field(check_ctx: CheckContext) -> None:
    result = await tcp.run(monitor("tcp://127.0.0.1:1", send=42), check_ctx)
    assert result.error == "Invalid monitor config: config.send must be a string. Fix the monitor."


async def test_tcp_dns_phase_and_failure(check_ctx: CheckContext) -> None:
    zone = {"db.example.com.": {"A": ["127.0.0.1"]}}
    async with DnsServer(zone) as dns_server, TcpServer() as srv:
        ctx = replace(check_ctx, nameservers=(dns_server.address,))
        dns_server.delay("db.example.com.", 0.2)
        ok = await tcp.run(monitor(srv.url(host="db.example.com")), ctx)
        missing = await tcp.run(monitor(f"tcp://nope.example.com:{srv.port}"), ctx)
    assert ok.status == "UP", ok.error
    assert_holds(ok.timings.dns, 200, ok.timings)
    assert missing.error == "DNS: NXDOMAIN for nope.example.com"


async def test_tcp_ipv6(check_ctx: CheckContext) -> None:
    async with TcpServer(host="::1", banner=b"hi\n") as srv:
        result = await tcp.run(monitor(f"tcp://[::1]:{srv.port}", expect="hi"), check_ctx)
    assert result.status == "UP", result.error
    assert result.details["resolvedIp"] == "::1"
