"""A bare TLS server on loopback and self-signed certificates, for the SSL check's tests.

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", not_after=now + timedelta(days=5))
    pems = b"".join(p.bytes() for p in leaf.cert_chain_pems)
    async with TlsServer(server_context(pems, leaf.private_key_pem.bytes())) as server:
        ... connect to 127.0.0.1:server.port, trusting ca ...

``TlsServer(None)`` accepts TCP connections and never speaks: a handshake that
times out. ``self_signed(name, ...)`` makes a certificate that signs itself.
``ThreadedTlsServer(legacy_context(...))`` is a server that speaks only TLS 1.0/1.1
and, like a real one, tells the client so with an alert.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import tempfile
import threading
import warnings
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server-side context serving this certificate (chain) and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain reads only files; the file lives just long enough to be read.
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(cert_pem + key_pem)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)
    return context


def self_signed(
    name: str, *, not_before: datetime | None = None, not_after: datetime | None = None
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a certificate for ``name`` that signs itself."""
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class TlsServer:
    """Accepts on 127.0.0.1 at an ephemeral port; holds each connection until the client leaves.

    Plain protocol callbacks rather than stream handler tasks: a handshake still in
    flight when the test ends leaves no task behind to be cancelled noisily.
    """

    def __init__(self, context: ssl.SSLContext | None, *, host: str = "127.0.0.1") -> None:
        self.context = context
        self.host = host
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.Transport] = set()
        self._port = 0

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("TlsServer is not started: use it with 'async with'")
        return self._port

    async def __aenter__(self) -> TlsServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _HoldOpen(self), self.host, 0, ssl=self.context
        )
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
        for transport in list(self._open):
            transport.abort()
        await self._server.wait_closed()


class _HoldOpen(asyncio.Protocol):
    def __init__(self, server: TlsServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._server.connections += 1
        self._transport = cast(asyncio.Transport, transport)
        self._server._open.add(self._transport)

    def eof_received(self) -> bool | None:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._server._open.discard(self._transport)


def legacy_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server context that speaks only TLS 1.0 and 1.1, as an old appliance does."""
    context = server_context(cert_pem, key_pem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


class ThreadedTlsServer:
    """A TLS server on blocking sockets, one thread per connection, as openssl s_server.

    Unlike asyncio's server, it sends its alert before closing a failed handshake
    (a client then sees "protocol version" rather than a reset).
    """

    def __init__(self, context: ssl.SSLContext, *, host: str = "127.0.0.1") -> None:
        self.context = context
        self._listener = socket.create_server((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self.handshake_errors: list[str] = []
        self._thread = threading.Thread(target=self._accept, name="tls-server", daemon=True)

    def __enter__(self) -> ThreadedTlsServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed: the test is over
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)  # until the client closes
        except (ssl.SSLError, OSError) as exc:
            self.handshake_errors.append(str(exc))
        finally:
            conn.close()
