"""SSL check: a TLS handshake with SNI, reporting the certificate and its expiry.

``monitor.url`` is "host", "host:port" (default 443) or an https:// URL.
``monitor.config``: ``warnDays`` (default [30, 14, 7, 1]; DEGRADED at or under the
largest), ``serverName`` (SNI and the name the certificate must match; default the
host). A certificate that fails verification is fetched again without verifying,
so the error can name its dates, names and issuer.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from checks import certificate
from checks.base import CheckContext, CheckResult, MonitorSpec, Status, Timings
from checks.neterrors import OLD_PROTOCOL_MESSAGE, tls_reason
from checks.resolve import ResolveError, resolve
from checks.target import HostPort, TargetError, parse_host_port

DEFAULT_WARN_DAYS = (30, 14, 7, 1)


def validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, issue) pairs for an SSL monitor's config; empty when it is valid."""
    issues: list[tuple[str, str]] = []
    warn = config.get("warnDays")
    if warn is not None and (
        not isinstance(warn, list)
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in warn)
    ):
        issues.append(("config.warnDays", "must be a list of whole numbers of days, 0 or more"))
    name = config.get("serverName")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        issues.append(("config.serverName", "must be a non-empty host name"))
    return issues


@dataclass(frozen=True)
class _Session:
    der: bytes
    protocol: str | None
    cipher: str | None
    tcp_ms: float
    tls_ms: float
    chain_length: int  # certificates the server sent, its own included


@functools.cache
def _legacy_context() -> ssl.SSLContext:
    """Accepts TLS 1.0/1.1 and old ciphers, without verifying: only to read the certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


class _HandshakeError(Exception):
    def __init__(
        self, message: str, *, cause: BaseException | None = None, tcp_ms: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.tcp_ms = tcp_ms


async def run(monitor: MonitorSpec, ctx: CheckContext) -> CheckResult:
    now = ctx.clock.now()
    issues = validate_config(monitor.config)
    if issues:
        field, issue = issues[0]
        return CheckResult("DOWN", error=f"TLS: {field} {issue}", checked_at=now)
    try:
        target = parse_host_port(monitor.url, default_port=443)
    except TargetError as exc:
        return CheckResult("DOWN", error=f"TLS: {exc}", checked_at=now)
    server_name = str(monitor.config.get("serverName") or target.host)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + monitor.timeout_s
    started = time.perf_counter()
    try:
        resolved = await resolve(
            target.host, ctx, timeout=monitor.timeout_s, policy=ctx.policy(monitor)
        )
    except ResolveError as exc:
        return CheckResult("DOWN", error=exc.message, checked_at=now)
    address = HostPort(resolved.address, target.port)
    details: dict[str, Any] = {
        "host": target.host,
        "port": target.port,
        "serverName": server_name,
        "resolvedIp": resolved.address,
    }
    try:
        session = await _handshake(address, server_name, ctx.ssl_verify, deadline=deadline)
    except _HandshakeError as exc:
        total = _ms_since(started)
        result = CheckResult(
            "DOWN",
            response_time_ms=round(total),
            timings=Timings(dns=resolved.dns_ms, tcp=exc.tcp_ms, total=total),
            error=exc.message,
            details=details,
            checked_at=now,
        )
        if isinstance(exc.cause, ssl.SSLCertVerificationError):
            result.error = await explain(exc.cause, address, server_name, ctx, deadline, details)
        elif exc.message == OLD_PROTOCOL_MESSAGE:
            result.error = await _old_protocol(address, server_name, ctx, deadline, details)
        return result
    total = _ms_since(started)
    cert = certificate.parse(session.der)
    details.update(_session_details(session), verified=True, **cert.details(now))
    return CheckResult(
        _status(cert, now, monitor.config),
        response_time_ms=round(total),
        timings=Timings(dns=resolved.dns_ms, tcp=session.tcp_ms, tls=session.tls_ms, total=total),
        error=_expiry_problem(cert, now, monitor.config),
        details=details,
        checked_at=now,
    )


def _status(cert: certificate.Certificate, now: datetime, config: Mapping[str, Any]) -> Status:
    if now >= cert.not_after or now < cert.not_before:
        return "DOWN"
    return "DEGRADED" if _expiry_problem(cert, now, config) else "UP"


def _expiry_problem(
    cert: certificate.Certificate, now: datetime, config: Mapping[str, Any]
) -> str | None:
    # The injected clock decides validity too, so a frozen clock can test expiry.
    if now >= cert.not_after:
        return certificate.expired(cert, now)
    if now < cert.not_before:
        return certificate.not_yet_valid(cert, now)
    warn_days = config.get("warnDays") or DEFAULT_WARN_DAYS
    days = cert.days_remaining(now)
    if days <= max(warn_days):
        return (
            f"TLS: certificate expires in {certificate.days_text(days)} "
            f"({certificate.when(cert.not_after)})"
        )
    return None


async def explain(
    error: ssl.SSLCertVerificationError,
    address: HostPort,
    server_name: str,
    ctx: CheckContext,
    deadline: float,
    details: dict[str, Any],
) -> str:
    """The verification failure in the certificate's own terms, fetched without verifying.

    ``deadline`` is on the running loop's clock; ``details`` gets the certificate's facts.
    """
    now = ctx.clock.now()
    cert = None
    chain_length = 0
    try:
        session = await _handshake(address, server_name, ctx.ssl_noverify, deadline=deadline)
    except _HandshakeError:
        pass
    else:
        cert = certificate.parse(session.der)
        chain_length = session.chain_length
        details.update(_session_details(session), **cert.details(now))
    details["verified"] = False
    details["verifyError"] = error.verify_message
    return certificate.verify_failure(
        error.verify_code,
        error.verify_message,
        cert,
        host=server_name,
        now=now,
        chain_length=chain_length,
    )


async def _old_protocol(
    address: HostPort,
    server_name: str,
    ctx: CheckContext,
    deadline: float,
    details: dict[str, Any],
) -> str:
    """Shake hands the old way to name the version and still report the certificate."""
    try:
        session = await _handshake(address, server_name, _legacy_context(), deadline=deadline)
    except _HandshakeError:
        return OLD_PROTOCOL_MESSAGE
    cert = certificate.parse(session.der)
    details.update(_session_details(session), verified=False, **cert.details(ctx.clock.now()))
    return (
        f"TLS: the server offers only {session.protocol}, and TLS 1.2 or newer is required: "
        "enable TLS 1.2 and 1.3 on the server"
    )


def _session_details(session: _Session) -> dict[str, Any]:
    return {"protocol": session.protocol, "cipher": session.cipher}


async def _handshake(
    address: HostPort, server_name: str, context: ssl.SSLContext, *, deadline: float
) -> _Session:
    """Connect and shake hands; raises _HandshakeError naming the phase that failed."""
    loop = asyncio.get_running_loop()
    timeout_s = f"{max(deadline - loop.time(), 0):.3g} s"
    started = time.perf_counter()
    try:
        async with asyncio.timeout_at(deadline):
            transport, protocol = await loop.create_connection(
                asyncio.Protocol, address.host, address.port
            )
    except TimeoutError:
        raise _HandshakeError(f"TLS: no TCP connection to {address} within {timeout_s}") from None
    except ConnectionRefusedError as exc:
        raise _HandshakeError(
            f"TLS: connection to {address} refused (is the service listening on that port?)",
            cause=exc,
        ) from None
    except OSError as exc:
        raise _HandshakeError(
            f"TLS: cannot connect to {address} ({exc.strerror or exc})", cause=exc
        ) from None
    tcp_ms = _ms_since(started)
    started = time.perf_counter()
    try:
        async with asyncio.timeout_at(deadline):
            tls = await loop.start_tls(transport, protocol, context, server_hostname=server_name)
    except TimeoutError:
        transport.close()
        raise _HandshakeError(
            f"TLS: no TLS handshake from {address} within {timeout_s}", tcp_ms=tcp_ms
        ) from None
    except (ssl.SSLError, OSError, EOFError) as exc:
        transport.close()
        known = tls_reason(exc.reason) if isinstance(exc, ssl.SSLError) else None
        message = known or f"TLS: handshake with {address} failed ({_handshake_reason(exc)})"
        raise _HandshakeError(message, cause=exc, tcp_ms=tcp_ms) from None
    tls_ms = _ms_since(started)
    if tls is None:  # the transport closed as the handshake finished
        transport.close()
        raise _HandshakeError(f"TLS: {address} closed the connection", tcp_ms=tcp_ms)
    ssl_object = tls.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True)
    cipher = ssl_object.cipher()
    protocol_name = ssl_object.version()
    chain_length = len(certificate.sent_chain(ssl_object))
    tls.close()
    if not der:
        raise _HandshakeError(f"TLS: {address} sent no certificate", tcp_ms=tcp_ms)
    cipher_name = cipher[0] if cipher else None
    return _Session(der, protocol_name, cipher_name, tcp_ms, tls_ms, chain_length)


def _handshake_reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError | ConnectionResetError):
        return "the server closed the connection during the handshake"
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
