"""What every loopback stream server in tests shares: an ephemeral port, and handler
tasks that are tracked and cancelled on exit so no task outlives the test's loop.

A subclass implements ``handle(reader, writer)``; the connection is closed after it.
"""

from __future__ import annotations

import asyncio
import ssl
from types import TracebackType
from typing import Self


class StreamServer:
    def __init__(self, *, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None):
        self.host = host
        self.ssl_context = ssl_context
        self._server: asyncio.Server | None = None
        self._port = 0  # kept after stopping, for assertions about the run
        self._handlers: set[asyncio.Task[None]] = set()
        self.connections = 0  # accepted so far: 0 proves nothing reached the server

    @property
    def port(self) -> int:
        assert self._port, f"start the server first (async with {type(self).__name__}())"
        return self._port

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._track, self.host, 0, ssl=self.ssl_context)
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

    async def _track(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            await self.handle(reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # the client left or broke off
        except asyncio.CancelledError:
            pass  # the server is shutting down; the handler just ends
        finally:
            self._handlers.discard(task)
            writer.close()
