"""One HTTP request/response on a fresh connection, with every phase timed.

The host is resolved by ``checks.resolve`` (its own DNS phase); the request then
goes to the resolved address with the original Host header and TLS SNI. Phases
come from httpcore's trace events and are cut at shared boundaries, so
dns + tcp + tls + ttfb + download equals total exactly.

A fresh connection per request: a pooled client reuses connections (no TCP/TLS
phase to measure) and, for an IP URL given ``sni_hostname``, skipped certificate
checks. One shared client whose transport opens a new connection for every request
and closes it with the response: building a client per check cost more CPU than
the rest of the check's Python work.
"""

from __future__ import annotations

import asyncio
import importlib
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import httpcore
import httpx
from cryptography import x509
from httpx._transports.default import map_httpcore_exceptions  # the mapping httpx applies

from checks.base import CheckContext, Timings
from checks.neterrors import causes, connect_failure
from checks.network import AsyncioBackend
from checks.resolve import Resolved, ResolveError, resolve
from checks.ssl import explain
from checks.target import HostPort
from checks.target_policy import TargetPolicy
from checks.timefmt import seconds_text

USER_AGENT = "Vigil/0.1 (uptime check)"

# httpcore loads its network backend on the first connection; loading it now keeps
# ~20 ms of import time out of the first check's TCP phase.
for _module in ("httpcore", "httpcore._backends.anyio", "anyio._backends._asyncio"):
    importlib.import_module(_module)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


SSL_CONTEXT = "vigil_ssl_context"


class _FreshConnectionTransport(httpx.AsyncBaseTransport):
    """Opens a new connection for each request and closes it with the response.

    The TLS context comes with the request (``extensions[SSL_CONTEXT]``), so one
    client serves verifying and non-verifying checks alike.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        connection = httpcore.AsyncHTTPConnection(
            httpcore.Origin(url.raw_scheme, url.raw_host, url.port or _default_port(url)),
            ssl_context=request.extensions.get(SSL_CONTEXT),
            network_backend=_NETWORK,
        )
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            with map_httpcore_exceptions():
                response = await connection.handle_async_request(core_request)
        except BaseException:
            await connection.aclose()
            raise
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ClosingStream(response.stream, connection),
            extensions=response.extensions,
        )


class _ClosingStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any, connection: httpcore.AsyncHTTPConnection) -> None:
        self._stream = stream
        self._connection = connection

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with map_httpcore_exceptions():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            await self._connection.aclose()


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


_NETWORK = AsyncioBackend()
# The transport is used directly, not through an httpx client: the client's cookie
# jar, auth and URL merging cost as much CPU as the exchange (and a shared cookie
# jar would carry one check's cookies into the next).
_TRANSPORT = _FreshConnectionTransport()
DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}


class ExchangeError(Exception):
    """The request failed before a complete response; ``message`` is for a person."""

    def __init__(self, message: str, *, resolved: Resolved | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.resolved = resolved


@dataclass(frozen=True)
class Request:
    url: httpx.URL
    method: str
    headers: dict[str, str]
    body: bytes | None
    verify_tls: bool


@dataclass
class Exchange:
    """A response as received; ``body`` holds at most the kept bytes."""

    url: httpx.URL
    resolved: Resolved
    status_code: int
    headers: httpx.Headers
    http_version: str
    body: bytes = b""
    body_truncated: bool = False
    encoding: str = "utf-8"
    size_bytes: int = 0
    timings: Timings = field(default_factory=Timings)
    tls: dict[str, Any] | None = None
    certificate: dict[str, Any] | None = None
    started_at: float = 0.0  # time.perf_counter() when this hop began
    finished_at: float = 0.0  # ... and when its body was complete

    @property
    def text(self) -> str:
        return self.body.decode(self.encoding, errors="replace")


class _Tracer:
    """Records when each httpcore event happened and which phase we are in."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.phase = "connect"

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        self.marks[event] = time.perf_counter()
        if event == "connection.start_tls.started":
            self.phase = "tls"
        elif event.endswith("send_request_headers.started"):
            self.phase = "first_byte"
        elif event.endswith("receive_response_headers.complete"):
            self.phase = "body"

    def mark(self, suffix: str) -> float | None:
        for event, at in self.marks.items():
            if event.endswith(suffix):
                return at
        return None


async def exchange(
    request: Request,
    ctx: CheckContext,
    *,
    deadline: float,
    timeout_s: float,
    keep_bytes: int,
    redirect_body: bool,
    policy: TargetPolicy,
) -> Exchange:
    """Send one request and read the body, keeping its first ``keep_bytes``.

    A redirect's body is read only if ``redirect_body``. ``deadline`` is on
    ``time.monotonic()``; ``timeout_s`` is the monitor's timeout, named in messages.
    The host is resolved and judged by ``policy`` for each request (so for every
    redirect hop), and the connection goes to that judged address.
    """
    verify = ctx.ssl_verify if request.verify_tls else ctx.ssl_noverify
    started = time.perf_counter()
    host = request.url.host
    try:
        resolved = await resolve(
            host, ctx, timeout=max(deadline - time.monotonic(), 0.001), policy=policy
        )
    except ResolveError as exc:
        raise ExchangeError(exc.message) from None
    dns_done = time.perf_counter()
    tracer = _Tracer()
    try:
        async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
            result = await _send(
                request,
                resolved,
                tracer,
                verify,
                keep_bytes=keep_bytes,
                redirect_body=redirect_body,
            )
    except TimeoutError:
        raise ExchangeError(_timeout_message(tracer.phase, timeout_s), resolved=resolved) from None
    except httpx.HTTPError as exc:
        message = _transport_message(exc, tracer.phase, host=host)
        verify_error = _verify_error(exc) if tracer.phase == "tls" else None
        if verify_error is not None:
            message = await _explained(verify_error, request.url, resolved, ctx, deadline)
        raise ExchangeError(message, resolved=resolved) from None
    result.started_at = started
    result.timings = _timings(started, dns_done, tracer, resolved=resolved, end=result.finished_at)
    return result


async def _send(
    request: Request,
    resolved: Resolved,
    tracer: _Tracer,
    tls: ssl.SSLContext,
    *,
    keep_bytes: int,
    redirect_body: bool,
) -> Exchange:
    url = request.url
    extensions: dict[str, Any] = {"trace": tracer, SSL_CONTEXT: tls}
    if url.scheme == "https" and url.host != resolved.address:
        extensions["sni_hostname"] = url.host
    headers = httpx.Headers(DEFAULT_HEADERS)
    headers["User-Agent"] = USER_AGENT
    headers["Host"] = url.netloc.decode("ascii")
    headers.update(request.headers)  # the monitor's own headers win, whatever their case
    outgoing = httpx.Request(
        request.method,
        url.copy_with(host=resolved.address),
        headers=headers,
        content=request.body,
        extensions=extensions,
    )
    response = await _TRANSPORT.handle_async_request(outgoing)
    response.request = outgoing
    try:
        result = Exchange(
            url=url,
            resolved=resolved,
            status_code=response.status_code,
            headers=response.headers,
            http_version=response.http_version,
            encoding=response.encoding or "utf-8",
        )
        _read_tls(response, result)
        if redirect_body or not is_redirect(response.status_code, response.headers):
            result.body, result.body_truncated = await _read_body(response, keep_bytes)
        result.finished_at = time.perf_counter()
        result.size_bytes = response.num_bytes_downloaded
    finally:
        await response.aclose()
    return result


def is_redirect(status_code: int, headers: httpx.Headers) -> bool:
    return status_code in REDIRECT_STATUSES and bool(headers.get("location"))


async def _read_body(response: httpx.Response, keep_bytes: int) -> tuple[bytes, bool]:
    """Read the whole body (its size counts) but keep only the first ``keep_bytes``."""
    kept = bytearray()
    truncated = False
    async for chunk in response.aiter_bytes():
        room = keep_bytes - len(kept)
        if room > 0:
            kept += chunk[:room]
        if len(chunk) > room:
            truncated = True
    return bytes(kept), truncated


def _read_tls(response: httpx.Response, result: Exchange) -> None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return
    cipher = ssl_object.cipher()
    result.tls = {"version": ssl_object.version(), "cipher": cipher[0] if cipher else None}
    der = ssl_object.getpeercert(binary_form=True)
    if der:
        cert = x509.load_der_x509_certificate(der)
        result.certificate = {
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "notBefore": _iso(cert.not_valid_before_utc),
            "notAfter": _iso(cert.not_valid_after_utc),
        }


def _iso(when: Any) -> str:
    return str(when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _timings(
    started: float, dns_done: float, tracer: _Tracer, *, resolved: Resolved, end: float
) -> Timings:
    """Cut the hop at shared boundaries so the phases add up to the total."""
    body_done = end
    connected = tracer.mark("connect_tcp.complete") or dns_done
    tls_done = tracer.mark("start_tls.complete")
    headers_done = tracer.mark("receive_response_headers.complete") or body_done
    dns = None if resolved.dns_ms is None else _ms(dns_done - started)
    tcp_from = started if dns is None else dns_done
    ttfb_from = tls_done or connected
    return Timings(
        dns=dns,
        tcp=_ms(connected - tcp_from),
        tls=None if tls_done is None else _ms(tls_done - connected),
        ttfb=_ms(headers_done - ttfb_from),
        download=_ms(body_done - headers_done),
        total=_ms(body_done - started),
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _timeout_message(phase: str, timeout_s: float) -> str:
    after = seconds_text(timeout_s)
    return {
        "connect": f"Connection timed out after {after}",
        "tls": f"TLS: handshake timed out after {after}",
        "first_byte": f"Timeout after {after} while waiting for the first byte",
        "body": f"Timeout after {after} while downloading the body",
    }[phase]


def _verify_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    for cause in causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
    return None


async def _explained(
    error: ssl.SSLCertVerificationError,
    url: httpx.URL,
    resolved: Resolved,
    ctx: CheckContext,
    deadline: float,
) -> str:
    """Name the certificate's dates and issuer as the SSL check does (one more handshake)."""
    loop = asyncio.get_running_loop()
    loop_deadline = loop.time() + max(deadline - time.monotonic(), 0)
    address = HostPort(resolved.address, url.port or 443)
    return await explain(error, address, url.host, ctx, loop_deadline, {})


def _transport_message(exc: httpx.HTTPError, phase: str, *, host: str) -> str:
    if phase in ("connect", "tls"):
        known = connect_failure(exc, host=host)
        if known is not None:
            return known
    if isinstance(exc, httpx.LocalProtocolError):
        return f"Could not send the request: {exc}. Check the monitor's method, headers and body."
    if isinstance(exc, httpx.DecodingError):
        return f"Could not decode the response body: {exc}"
    if phase == "first_byte":
        return f"Connection closed by the server before a complete response ({exc})"
    if phase == "body":
        return f"Connection closed by the server while downloading the body ({exc})"
    return f"Could not connect: {exc or type(exc).__name__}"
