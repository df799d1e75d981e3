"""A minimal HTTP/1.1 server on loopback that counts requests; optionally slow.

Every response closes its connection, as a monitoring check opens a fresh one.
``delay_s`` holds each response back (to keep checks in flight); ``started`` and
``answered`` count requests received and responses sent.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.servers.stream import StreamServer


class TinyHTTPServer(StreamServer):
    def __init__(self, *, status: int = 200, body: bytes = b"ok", delay_s: float = 0.0) -> None:
        super().__init__()
        self.status = status
        self.body = body
        self.delay_s = delay_s
        self.started = 0
        self.answered = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
