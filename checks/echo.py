"""ICMP echo requests sent on a fixed schedule, replies collected as they come.

icmplib's ``async_ping`` waits for each reply (or its timeout) before sleeping the
interval, so a lost packet pushes the next one later: against a rate-limited target
fewer packets land in each second and the loss is under-reported. Here request
``i`` leaves at ``start + i * interval`` whatever happened to the others, as
ping(8) does, and one reader matches replies to requests by sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import icmplib
from icmplib.models import ICMPRequest
from icmplib.sockets import AsyncSocket, ICMPv4Socket, ICMPv6Socket
from icmplib.utils import is_ipv6_address, unique_identifier


class _Session:
    def __init__(self, sock: AsyncSocket, *, count: int, wait: float) -> None:
        self.sock = sock
        self.count = count
        self.wait = wait
        self.sent: dict[int, ICMPRequest] = {}
        self.rtts: dict[int, float] = {}
        self.all_sent = False
        self.done = asyncio.Event()

    def settle(self) -> None:
        if self.all_sent and len(self.rtts) == len(self.sent):
            self.done.set()

    async def read(self, until: float) -> None:
        """Match replies to requests until the last one's wait is over."""
        while (remaining := until - time.monotonic()) > 0:
            try:
                reply = await self.sock.receive(None, remaining)
            except icmplib.TimeoutExceeded:
                return
            request = self.sent.get(reply.sequence)
            # A raw socket sees every echo reply on the host: keep only ours, in time.
            if request is None or reply.id != request.id or reply.sequence in self.rtts:
                continue
            if reply.type not in (0, 129):  # echo reply (v4, v6); errors count as lost
                continue
            rtt = (reply.time - request.time) * 1000
            if rtt <= self.wait * 1000:
                self.rtts[reply.sequence] = rtt
                self.settle()


async def echo(
    address: str, *, count: int, interval: float, wait: float, privileged: bool
) -> tuple[int, tuple[float, ...]]:
    """Send ``count`` echo requests ``interval`` s apart; each reply counts within ``wait`` s.

    Returns how many requests went out and the round trips (ms) of those answered.
    Raises icmplib.SocketPermissionError when this kind of ICMP socket is not allowed.
    """
    kind = ICMPv6Socket if is_ipv6_address(address) else ICMPv4Socket
    ident = unique_identifier()
    with AsyncSocket(kind(None, privileged)) as sock:
        session = _Session(sock, count=count, wait=wait)
        start = time.monotonic()
        last_deadline = start + (count - 1) * interval + wait
        reader = asyncio.create_task(session.read(last_deadline))
        try:
            for sequence in range(count):
                await asyncio.sleep(max(start + sequence * interval - time.monotonic(), 0))
                request = ICMPRequest(destination=address, id=ident, sequence=sequence)
                try:
                    sock.send(request)
                except icmplib.ICMPLibError:
                    continue  # not sent (no route): counted neither as sent nor lost
                session.sent[sequence] = request
            session.all_sent = True
            session.settle()
            remaining = max(last_deadline - time.monotonic(), 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.done.wait(), remaining)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    return len(session.sent), tuple(session.rtts[s] for s in sorted(session.rtts))
