"""Real alert receivers on loopback, recording what they get: HTTP(S) and SMTP.

Each runs its own asyncio loop in a background thread, so sync and async tests (and
code under test that blocks its own loop) use them the same way::

    async with HttpReceiver(replies=[503, 503, 200]) as hooks:    # then 200 for ever
        ... POST to hooks.url_for("/hook") ...
        first, second, third = await hooks.wait_for(3, timeout=5)
        assert third.json()["type"] == "monitor.down"
        assert third.header("X-Event-Id") == first.header("X-Event-Id")

    async with SmtpReceiver(auth=("alerts", "pw"), reject={"gone@example.com"}) as smtp:
        ... send through 127.0.0.1:smtp.port ...
        (mail,) = await smtp.wait_for(1)
        assert mail.subject.startswith("[DOWN]") and "Cause:" in mail.text

``replies`` are answered one per request, in order, then ``default`` for the rest;
``reply_with(...)`` queues more while the receiver runs. ``Reply(hang=True)`` never
answers (the connection stays open until the receiver stops): a client times out.
``wait_for(n, timeout)`` returns once ``n`` items have arrived, or fails the test
saying how many did; ``wait_for_sync`` is the same for sync code.

``SilentServer`` accepts TCP connections and never says a word (an SMTP client
waiting for the greeting times out); ``refused_port()`` holds a port on which
connections are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import socket
import ssl
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from http import HTTPStatus
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

T = TypeVar("T")

_START_TIMEOUT_S = 5.0
_STOP_TIMEOUT_S = 5.0


class _Recorder(Generic[T]):
    """Items that arrive on the server's thread, awaited from any thread or loop."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._items: list[T] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def add(self, item: T) -> None:
        with self._lock:
            self._items.append(item)
            self._changed.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                loop.call_soon_threadsafe(event.set)

    @property
    def items(self) -> list[T]:
        with self._lock:
            return list(self._items)

    # A timeout argument (not asyncio.timeout) so a failure can say how many arrived.
    async def wait_for(self, count: int, timeout: float) -> list[T]:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        arrived = asyncio.Event()
        with self._lock:
            self._waiters.append((loop, arrived))
        try:
            async with asyncio.timeout(timeout):
                while True:
                    arrived.clear()
                    items = self.items
                    if len(items) >= count:
                        return items
                    await arrived.wait()
        except TimeoutError:
            raise AssertionError(self._shortfall(count, timeout)) from None
        finally:
            with self._lock:
                self._waiters.remove((loop, arrived))

    def wait_for_sync(self, count: int, timeout: float) -> list[T]:
        with self._lock:
            if not self._changed.wait_for(lambda: len(self._items) >= count, timeout):
                raise AssertionError(self._shortfall(count, timeout, locked=True))
            return list(self._items)

    def _shortfall(self, count: int, timeout: float, *, locked: bool = False) -> str:
        got = len(self._items) if locked else len(self.items)
        return f"expected {count} {self._what} within {timeout:g} s, got {got}"


class _BackgroundServer:
    """Runs ``_serve`` on a private loop in a thread until ``stop``."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = 0

    async def _serve(self, stopping: asyncio.Event) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError(f"{type(self).__name__} did not start within {_START_TIMEOUT_S} s")
        if self._error is not None:
            raise RuntimeError(f"{type(self).__name__} failed to start") from self._error

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_S)
            self._thread = None

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            try:
                await self._serve(self._stopping)
            except BaseException as exc:
                self._error = exc
                self._ready.set()

        asyncio.run(main())

    def _started(self, server: asyncio.Server) -> None:
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


# --- HTTP ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """How the HTTP receiver answers one request."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    hang: bool = False
    delay_s: float = 0.0  # a slow receiver: answers this long after the request


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver(_BackgroundServer):
    """An HTTP/1.1 server (HTTPS with ``ssl_context``) that records every request."""

    def __init__(
        self,
        replies: Sequence[int | Reply] = (),
        *,
        default: int | Reply = 200,
        ssl_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__()
        self._replies: list[Reply] = [_reply(r) for r in replies]
        self._default = _reply(default)
        self._ssl = ssl_context
        self.host = host
        self._replies_lock = threading.Lock()
        self._recorded: _Recorder[ReceivedRequest] = _Recorder("requests")

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + (path if path.startswith("/") else f"/{path}")

    @property
    def requests(self) -> list[ReceivedRequest]:
        return self._recorded.items

    def reply_with(self, *replies: int | Reply, default: int | Reply | None = None) -> None:
        """Queue more replies (and optionally a new default) while the receiver runs."""
        with self._replies_lock:
            self._replies.extend(_reply(r) for r in replies)
            if default is not None:
                self._default = _reply(default)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:  # noqa: ASYNC109
        return await self._recorded.wait_for(count, timeout)

    def wait_for_sync(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        return self._recorded.wait_for_sync(count, timeout)

    async def _serve(self, stopping: asyncio.Event) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
                await self._converse(reader, writer, stopping)
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

        server = await asyncio.start_server(handle, self.host, 0, ssl=self._ssl)
        async with server:
            self._started(server)
            await stopping.wait()

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stopping: asyncio.Event
    ) -> None:
        while True:
            request = await _read_request(reader)
            if request is None:
                return
            reply = self._next_reply()
            self._recorded.add(request)
            if reply.hang:
                await stopping.wait()
                return
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)  # the receiver's pace, not a wait
            writer.write(_response_bytes(reply))
            await writer.drain()
            if (request.header("connection") or "").lower() == "close":
                return

    def _next_reply(self) -> Reply:
        with self._replies_lock:
            return self._replies.pop(0) if self._replies else self._default


def _reply(value: int | Reply) -> Reply:
    return value if isinstance(value, Reply) else Reply(status=value)


async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return ReceivedRequest(method=method, path=target, headers=headers, body=body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
        chunks.append(await reader.readexactly(size))
        await reader.readline()
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(chunks)


def _response_bytes(reply: Reply) -> bytes:
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    try:
        phrase = HTTPStatus(reply.status).phrase
    except ValueError:
        phrase = "Unknown"
    headers = {"Content-Type": "text/plain; charset=utf-8", **reply.headers}
    headers["Content-Length"] = str(len(body))
    head = f"HTTP/1.1 {reply.status} {phrase}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return (head + "\r\n").encode("latin-1") + body


# --- SMTP ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedEmail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    login: str | None  # the user that authenticated, if any
    tls: bool  # whether the session was encrypted (STARTTLS)

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        """The plain-text body, decoded, with the wire's CRLF line ends as ``\\n``."""
        part = self.message.get_body(("plain",))
        assert part is not None, "the email has no text/plain part"
        content = part.get_content()
        assert isinstance(content, str)
        return content.replace("\r\n", "\n")


class _SmtpHandler:
    def __init__(
        self,
        recorder: _Recorder[ReceivedEmail],
        *,
        auth: tuple[str, str] | None,
        reject: Collection[str],
    ) -> None:
        self._recorder = recorder
        self._auth = auth
        self._reject = {r.lower() for r in reject}

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if (
            self._auth is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == self._auth
        ):
            return AuthResult(success=True, auth_data=data.login.decode())
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self._reject:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self._recorder.add(
            ReceivedEmail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=content,
                login=str(session.auth_data) if session.authenticated else None,
                tls=session.ssl is not None,
            )
        )
        return "250 Message accepted for delivery"


class SmtpReceiver(_BackgroundServer):
    """An SMTP server (aiosmtpd) that records each accepted message.

    ``auth=(user, password)`` offers AUTH PLAIN/LOGIN (without TLS too) and refuses
    mail from unauthenticated clients; ``reject`` answers 550 for those recipients;
    ``starttls=<server SSLContext>`` offers STARTTLS and requires it before mail.
    """

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        reject: Collection[str] = (),
        starttls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__()
        self.host = host
        self._starttls = starttls
        self._recorded: _Recorder[ReceivedEmail] = _Recorder("emails")
        self._handler = _SmtpHandler(self._recorded, auth=auth, reject=reject)
        self._auth = auth

    @property
    def messages(self) -> list[ReceivedEmail]:
        return self._recorded.items

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedEmail]:  # noqa: ASYNC109
        return await self._recorded.wait_for(count, timeout)

    def wait_for_sync(self, count: int, timeout: float = 5.0) -> list[ReceivedEmail]:
        return self._recorded.wait_for_sync(count, timeout)

    async def _serve(self, stopping: asyncio.Event) -> None:
        def protocol() -> SMTP:
            return SMTP(
                self._handler,
                hostname="receiver.test",
                authenticator=self._handler.authenticate if self._auth else None,
                auth_require_tls=False,
                tls_context=self._starttls,
                require_starttls=self._starttls is not None,
            )

        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol, self.host, 0)
        async with server:
            self._started(server)
            await stopping.wait()


# --- refusing and silent peers ------------------------------------------------------


class SilentServer(_BackgroundServer):
    """Accepts TCP connections and never sends or reads anything."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__()
        self.host = host
        self.connections = _Recorder[str]("connections")

    async def _serve(self, stopping: asyncio.Event) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections.add(str(writer.get_extra_info("peername")))
            await stopping.wait()
            writer.close()

        server = await asyncio.start_server(handle, self.host, 0)
        async with server:
            self._started(server)
            await stopping.wait()


@contextlib.contextmanager
def refused_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused while this is held."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        yield sock.getsockname()[1]


__all__ = [
    "HttpReceiver",
    "ReceivedEmail",
    "ReceivedRequest",
    "Reply",
    "SilentServer",
    "SmtpReceiver",
    "refused_port",
]
