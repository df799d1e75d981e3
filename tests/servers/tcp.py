"""Raw TCP targets on loopback: a banner/reply server, a closed port, a port that never answers.

::

    async with TcpServer(banner=b"SSH-2.0-Test\r\n", replies={b"PING": b"+PONG\r\n"}) as srv:
        srv.port
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator, Mapping

from tests.servers.stream import StreamServer


class TcpServer(StreamServer):
    """Sends ``banner`` on connect (after ``banner_delay_s``), then answers each line
    starting with a key of ``replies`` with its value; ``hang_up`` closes right after
    the banner."""

    def __init__(
        self,
        *,
        banner: bytes = b"",
        banner_delay_s: float = 0.0,
        replies: Mapping[bytes, bytes] | None = None,
        hang_up: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.hang_up = hang_up
        self.banner = banner
        self.banner_delay_s = banner_delay_s
        self.replies = dict(replies or {})
        self.received: list[bytes] = []

    def url(self, host: str | None = None) -> str:
        return f"tcp://{host or self.host}:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.banner_delay_s:
            await asyncio.sleep(self.banner_delay_s)  # the slow server under test
        if self.banner:
            writer.write(self.banner)
            await writer.drain()
        if self.hang_up:
            return
        while line := await reader.readline():
            self.received.append(line)
            for prefix, reply in self.replies.items():
                if line.startswith(prefix):
                    writer.write(reply)
                    await writer.drain()


@contextlib.contextmanager
def closed_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port nothing listens on (connecting is refused)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    yield port


@contextlib.contextmanager
def unanswered_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port whose accept queue is full, so new connections hang until they time out.

    With ``listen(0)`` Linux queues one connection and drops later SYNs.
    """
    with socket.socket() as listener:
        listener.bind((host, 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        fillers = []
        try:
            queued = socket.socket()
            fillers.append(queued)
            queued.settimeout(1.0)
            queued.connect((host, port))
            # One more, in case this kernel queues backlog + 1: it may hang, so no waiting.
            extra = socket.socket()
            fillers.append(extra)
            extra.setblocking(False)
            extra.connect_ex((host, port))
            yield port
        finally:
            for filler in fillers:
                filler.close()
