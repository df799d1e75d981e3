"""A raw ICMP listener recording when echo requests arrive, by the kernel's clock.

Used inside a network namespace whose loopback ignores pings: the raw socket still
sees every request (raw delivery comes before the kernel's echo handling), so a
test measures the spacing a target would see, whatever the sender believed::

    async with EchoRequestListener() as listener:     # needs root (a raw socket)
        ... ping 127.0.0.1 ...
    listener.arrivals       # [(sequence, seconds since the epoch), ...]
"""

from __future__ import annotations

import asyncio
import socket
import struct
from types import TracebackType

_ICMP_ECHO_REQUEST = 8
_TIMESPEC = struct.Struct("@qq")
SO_TIMESTAMPNS = 35  # Linux; the socket module does not export it


class EchoRequestListener:
    def __init__(self) -> None:
        self.arrivals: list[tuple[int, float]] = []
        self._sock: socket.socket | None = None

    async def __aenter__(self) -> EchoRequestListener:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setblocking(False)
        self._sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._drain)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._sock is not None:
            self._drain()
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def _drain(self) -> None:
        assert self._sock is not None
        while True:
            try:
                packet, ancillary, _flags, _addr = self._sock.recvmsg(2048, 1024)
            except BlockingIOError:
                return
            header = (packet[0] & 0x0F) * 4  # raw IPv4 sockets include the IP header
            if len(packet) < header + 8 or packet[header] != _ICMP_ECHO_REQUEST:
                continue
            (sequence,) = struct.unpack("!H", packet[header + 6 : header + 8])
            self.arrivals.append((sequence, _kernel_time(ancillary)))


def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = _TIMESPEC.unpack(data[: _TIMESPEC.size])
            return seconds + nanoseconds / 1e9
    raise AssertionError("the kernel gave no receive timestamp")
