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
from types import TracebackType


class TcpServer:
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
        self.hang_up = hang_up
        self.host = host
        self.banner = banner
        self.banner_delay_s = banner_delay_s
        self.replies = dict(replies or {})
        self.received: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._port = 0  # kept after stopping, for assertions about the run
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._port, "start the server first (async with TcpServer())"
        return self._port

    def url(self, host: str | None = None) -> str:
        return f"tcp://{host or self.host}:{self.port}"

    async def __aenter__(self) -> TcpServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
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
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client left, or the server is shutting down
        finally:
            self._handlers.discard(task)
            writer.close()


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
