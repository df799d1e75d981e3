"""A minimal HTTP/1.1 server on loopback that counts requests; optionally slow.

Every response closes its connection, as a monitoring check opens a fresh one.
``delay_s`` holds each response back (to keep checks in flight); ``started`` and
``answered`` count requests received and responses sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class TinyHTTPServer:
    def __init__(self, *, status: int = 200, body: bytes = b"ok", delay_s: float = 0.0) -> None:
        self.status = status
        self.body = body
        self.delay_s = delay_s
        self.started = 0
        self.answered = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/"

    async def __aenter__(self) -> TinyHTTPServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
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
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.started += 1
            if self.delay_s:
                await asyncio.sleep(self.delay_s)  # the slow target under test
            head = (
                f"HTTP/1.1 {self.status} X\r\nContent-Length: {len(self.body)}\r\n"
                "Content-Type: text/plain\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + self.body)
            await writer.drain()
            self.answered += 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
