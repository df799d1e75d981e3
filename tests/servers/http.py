"""A real HTTP/1.1 server on loopback, written on asyncio streams so tests control byte timing.

::

    async with HttpServer() as server:            # HttpServer(ssl_context=...) for HTTPS
        server.url("/status/503")
        server.respond("/health", status=200, body=b'{"ok": true}',
                       headers={"Content-Type": "application/json"})
        server.requests[-1].headers["host"]

Built-in routes (query parameters in brackets):

- ``/status/<code>``: that status, body ``status <code>``
- ``/delay[?first_byte_ms=N]``: nothing is sent for N ms, then ``200 ok``
- ``/slow-body[?chunks=N&over_ms=M&first_byte_ms=F]``: headers at once (after F ms), then
  the body in N chunks spread over M ms, with a Content-Length
- ``/redirect/<n>[?status=302]``: a chain of n redirects ending at ``/redirect/0`` (200 "done")
- ``/redirect-loop``: redirects to itself forever
- ``/redirect-to?url=U[&status=302]``: one redirect to U
- ``/headers?Name=Value&...``: 200 with those response headers
- ``/echo``: 200 JSON ``{"method", "path", "headers", "body"}`` of the request
- ``/big?bytes=N``: a body of N bytes (``x``), sent in 64 KiB chunks
- ``/stall-body?bytes=N``: headers announcing N bytes, 10 bytes of body, then silence
- ``/hang-up``: closes the connection without answering

Every response closes its connection. ``requests`` records each request and
``sni_names`` each TLS SNI name the server saw.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from tests.servers.stream import StreamServer

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """One canned response; ``body_over_s`` spreads ``body_chunks`` chunks over that time."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    first_byte_delay_s: float = 0.0
    body_chunks: int = 1
    body_over_s: float = 0.0
    stall_after: int | None = None  # send this many body bytes, then nothing more
    hang_up: bool = False  # close the connection without answering


class HttpServer(StreamServer):
    """HTTP/1.1 (HTTPS with ``ssl_context``) on an ephemeral port of ``host``."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"):
        super().__init__(host=host, ssl_context=ssl_context)
        self.requests: list[RecordedRequest] = []
        self.sni_names: list[str | None] = []
        self._routes: dict[str, Reply] = {}
        if ssl_context is not None:
            ssl_context.sni_callback = self._record_sni

    def _record_sni(self, _obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.sni_names.append(name)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        """This server's URL for ``path``; ``host`` replaces the address (a DNS name)."""
        if host is None:
            return self.base_url + path
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def respond(self, path: str, **reply: object) -> None:
        """Serve ``Reply(**reply)`` at ``path`` (exact match, query ignored)."""
        self._routes[path] = Reply(**reply)  # type: ignore[arg-type]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        if request is not None:
            self.requests.append(request)
            await _send(writer, self._reply_for(request))

    def _reply_for(self, request: RecordedRequest) -> Reply:
        parts = urlsplit(request.path)
        if parts.path in self._routes:
            return self._routes[parts.path]
        return _builtin(parts.path, dict(parse_qsl(parts.query)), request)


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return RecordedRequest(method, path, headers, body)


def _builtin(path: str, query: dict[str, str], request: RecordedRequest) -> Reply:
    segments = path.strip("/").split("/")
    first_byte = float(query.get("first_byte_ms", 0)) / 1000
    if segments[0] == "status" and len(segments) == 2:
        return Reply(int(segments[1]), body=f"status {segments[1]}".encode())
    if path == "/delay":
        return Reply(200, body=b"ok", first_byte_delay_s=first_byte)
    if path == "/slow-body":
        chunks = int(query.get("chunks", 6))
        return Reply(
            200,
            body=b"x" * (chunks * 100),
            first_byte_delay_s=first_byte,
            body_chunks=chunks,
            body_over_s=float(query.get("over_ms", 300)) / 1000,
        )
    if segments[0] == "redirect" and len(segments) == 2:
        left = int(segments[1])
        if left == 0:
            return Reply(200, body=b"done")
        status = int(query.get("status", 302))
        return Reply(status, headers={"Location": f"/redirect/{left - 1}"})
    if path == "/redirect-loop":
        return Reply(302, headers={"Location": "/redirect-loop"})
    if path == "/redirect-to":
        return Reply(int(query.get("status", 302)), headers={"Location": query["url"]})
    if path == "/headers":
        return Reply(200, headers=query, body=b"ok")
    if path == "/echo":
        echo = {
            "method": request.method,
            "path": request.path,
            "headers": request.headers,
            "body": request.body.decode("utf-8", "replace"),
        }
        return Reply(
            200, headers={"Content-Type": "application/json"}, body=json.dumps(echo).encode()
        )
    if path == "/big":
        size = int(query.get("bytes", 1_000_000))
        return Reply(200, body=b"x" * size, body_chunks=max(1, size // 65536))
    if path == "/hang-up":
        return Reply(hang_up=True)
    if path == "/stall-body":
        return Reply(200, body=b"x" * int(query.get("bytes", 1000)), stall_after=10)
    return Reply(404, body=b"not found")


async def _send(writer: asyncio.StreamWriter, reply: Reply) -> None:
    if reply.hang_up:
        return
    if reply.first_byte_delay_s:
        await asyncio.sleep(reply.first_byte_delay_s)
    reason = _REASONS.get(reply.status, "Status")
    headers = {"Content-Length": str(len(reply.body)), "Connection": "close", **reply.headers}
    head = f"HTTP/1.1 {reply.status} {reason}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(head.encode("latin-1") + b"\r\n")
    await writer.drain()
    body = reply.body if reply.stall_after is None else reply.body[: reply.stall_after]
    chunks = max(1, reply.body_chunks)
    size = -(-len(body) // chunks) if body else 0
    pause = reply.body_over_s / chunks if reply.body_over_s else 0.0
    for start in range(0, len(body), size or 1):
        # Timed by the test's injected delay: this is the server being slow on purpose.
        if pause:
            await asyncio.sleep(pause)
        writer.write(body[start : start + size])
        await writer.drain()
    if reply.stall_after is not None:
        await asyncio.Event().wait()  # hold the connection open until the test ends
