"""A forward proxy on loopback that holds an untrusted browser check to the target policy.

Chromium resolves and connects on its own, so its requests cannot be judged by
``checks.resolve`` like the other checks'. An untrusted monitor's browser context
is given this proxy instead (Playwright routes loopback through it too): for every
request and WebSocket, plain or CONNECT-tunnelled, the proxy resolves the host,
judges the address with the monitor's policy, and connects to that address
itself, so no second lookup can rebind the name. Each check gets its own proxy
(a listener on an ephemeral port, closed with the check), so a refusal is the
check's own and can be named in its result.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from urllib.parse import urlsplit

from playwright.async_api import ProxySettings

from checks.base import CheckContext
from checks.resolve import ResolveError, TargetRefused, resolve
from checks.target import TargetError, parse_host_port
from checks.target_policy import TargetPolicy

HEAD_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
MAX_REFUSALS = 20
# Hop-by-hop headers of the client-proxy leg; the proxy sets its own Connection.
_DROPPED = frozenset({"proxy-connection", "proxy-authorization", "connection", "keep-alive"})


class VettingProxy:
    """``async with VettingProxy(policy, ctx) as proxy``: ``proxy.settings`` for Playwright."""

    def __init__(self, policy: TargetPolicy, ctx: CheckContext) -> None:
        self._policy = policy
        self._ctx = ctx
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.refusals: list[str] = []

    @property
    def settings(self) -> ProxySettings:
        assert self._server is not None, "start the proxy first"
        port = self._server.sockets[0].getsockname()[1]
        return {"server": f"http://127.0.0.1:{port}"}

    async def __aenter__(self) -> VettingProxy:
        self._server = await asyncio.start_server(self._track, "127.0.0.1", 0)
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
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            # The browser gave up on this connection, the target hung up, or the
            # request head passed the reader's 64 KiB limit.
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(HEAD_TIMEOUT_S):
            head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = [*request_line.split(" ", 2), "", ""][:3]
        try:
            host, port, forwarded = _route(method, target, version, header_lines)
        except ValueError as exc:
            return await _answer(writer, 400, str(exc))
        try:
            resolved = await resolve(
                host, self._ctx, timeout=CONNECT_TIMEOUT_S, policy=self._policy
            )
        except TargetRefused as exc:
            if len(self.refusals) < MAX_REFUSALS:
                self.refusals.append(exc.message)
            return await _answer(writer, 403, exc.message)
        except ResolveError as exc:
            return await _answer(writer, 502, exc.message)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                up_reader, up_writer = await asyncio.open_connection(resolved.address, port)
        except (OSError, TimeoutError) as exc:
            return await _answer(writer, 502, f"cannot connect to {host}:{port} ({exc})")
        try:
            if forwarded is None:
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            else:
                up_writer.write(forwarded)
            await _splice(reader, writer, up_reader, up_writer)
        finally:
            up_writer.close()


def _route(
    method: str, target: str, version: str, header_lines: list[str]
) -> tuple[str, int, bytes | None]:
    """(host, port, the request head to send upstream; None for a CONNECT tunnel)."""
    if method == "CONNECT":
        try:
            hp = parse_host_port(target, default_port=443)
        except TargetError as exc:
            raise ValueError(str(exc)) from None
        return hp.host, hp.port, None
    parts = urlsplit(target)
    if parts.scheme not in ("http", "ws") or not parts.hostname:
        raise ValueError(f"only absolute http:// requests are proxied, not {target[:100]!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [
        line
        for line in header_lines
        if line and line.split(":", 1)[0].strip().lower() not in _DROPPED
    ]
    # One request per upstream connection: the browser may send the next one on
    # this client connection to another host, which must be judged afresh.
    head = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
    return parts.hostname, parts.port or 80, head.encode("latin-1")


async def _splice(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Copy both ways until either side closes."""
    tasks = {
        asyncio.create_task(_pipe(reader, up_writer)),
        asyncio.create_task(_pipe(up_reader, writer)),
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await src.read(65_536):
            dst.write(data)
            await dst.drain()


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    body = f"Vigil: {message}\n".encode()
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
