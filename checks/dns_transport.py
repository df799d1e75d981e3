"""One DNS exchange with one nameserver, the way resolvers do it.

UDP first, re-sending the same query when no reply came within a try's share of the
budget (so one lost datagram costs a retry, not the check), then TCP when the reply
is truncated. The UDP socket is connected, so the kernel reports an ICMP port
unreachable from the nameserver's host as ECONNREFUSED at once instead of the check
waiting out its timeout.
"""

from __future__ import annotations

import asyncio
import time

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message

from checks.target import HostPort

# A try waits at most this long before re-sending, as glibc's and dig's first try do
# (scaled down to fit short monitor timeouts: at least TRIES sends fit in the budget).
MAX_TRY_S = 1.0
TRIES = 3


class NameserverRefusedError(OSError):
    """The nameserver's host answered the query with ICMP port unreachable."""


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self, query: dns.message.Message) -> None:
        self._query = query
        self.reply: asyncio.Future[dns.message.Message] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            message = dns.message.from_wire(data, ignore_trailing=True)
        except (dns.exception.DNSException, ValueError):
            return  # garbage or a stray datagram: keep waiting, as a resolver does
        if self._query.is_response(message) and not self.reply.done():
            self.reply.set_result(message)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, ConnectionRefusedError) and not self.reply.done():
            self.reply.set_exception(NameserverRefusedError(exc.errno, "port unreachable"))


def try_interval(budget_s: float) -> float:
    """How long one UDP try waits before the query is sent again."""
    return min(MAX_TRY_S, budget_s / TRIES)


async def exchange(
    query: dns.message.Message, server: HostPort, *, timeout_s: float
) -> tuple[dns.message.Message, bool]:
    """The nameserver's reply and whether it came over TCP.

    Raises dns.exception.Timeout when nothing came back within ``timeout_s``,
    NameserverRefusedError when the port is closed, OSError when unreachable.
    """
    deadline = time.monotonic() + timeout_s
    reply = await _udp(query, server, timeout_s=timeout_s)
    if not reply.flags & dns.flags.TC:
        return reply, False
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise dns.exception.Timeout(timeout=timeout_s)  # type: ignore[no-untyped-call]
    tcp_reply = await dns.asyncquery.tcp(query, server.host, timeout=remaining, port=server.port)
    return tcp_reply, True


async def _udp(
    query: dns.message.Message, server: HostPort, *, timeout_s: float
) -> dns.message.Message:
    loop = asyncio.get_running_loop()
    wire = query.to_wire()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Exchange(query), remote_addr=(server.host, server.port)
    )
    try:
        deadline = time.monotonic() + timeout_s
        interval = try_interval(timeout_s)
        while True:
            transport.sendto(wire)
            wait = max(min(interval, deadline - time.monotonic()), 0.0)
            try:
                # shield: a try's timeout must not cancel the future a late reply still fills
                return await asyncio.wait_for(asyncio.shield(protocol.reply), wait)
            except TimeoutError:
                if deadline - time.monotonic() <= 0.001:
                    raise dns.exception.Timeout(timeout=timeout_s) from None  # type: ignore[no-untyped-call]
    finally:
        transport.close()
