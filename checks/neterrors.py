"""Connection and TLS failures as a person should read them.

httpx reports every failed connect as "All connection attempts failed"; the cause
(errno, OpenSSL verify code) is further down the exception chain, so we walk it.
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Iterator

# OpenSSL X509_V_ERR_* codes.
_CERT_NOT_YET_VALID = 9
_CERT_HAS_EXPIRED = 10
_SELF_SIGNED_LEAF = 18
_UNKNOWN_ISSUER = (2, 19, 20, 21)
_CERT_REVOKED = 23
_HOSTNAME_MISMATCH = (62, 64)

_ERRNO_MESSAGES = {
    errno.ECONNREFUSED: "Connection refused",
    errno.ECONNRESET: "Connection reset by the server",
    errno.ENETUNREACH: "Network unreachable",
    errno.EHOSTUNREACH: "Host unreachable",
    errno.ETIMEDOUT: "Connection timed out",
    errno.EADDRNOTAVAIL: "Address not available",
}


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything that caused it, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def connect_failure(exc: BaseException, *, host: str) -> str | None:
    """A message for a failed connect or TLS handshake, or None if the cause is unknown."""
    for cause in causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return certificate_failure(cause, host=host)
        if isinstance(cause, ssl.SSLError):
            reason = tls_reason(cause.reason)
            return reason or f"TLS: handshake failed ({cause.reason or cause.strerror or cause})"
        if isinstance(cause, OSError) and cause.errno in _ERRNO_MESSAGES:
            return _ERRNO_MESSAGES[cause.errno]
        if isinstance(cause, OSError) and cause.errno is not None:
            return f"Connection failed: {cause.strerror or cause}"
    return None


# OpenSSL reasons for a server that speaks only TLS 1.0/1.1 (its alert, or no common version).
_OLD_PROTOCOL = frozenset(
    {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE"}
)
# ... and for bytes that are not a TLS record at all, as a plain HTTP reply is.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"})

OLD_PROTOCOL_MESSAGE = (
    "TLS: the server offers only TLS 1.0/1.1, and TLS 1.2 or newer is required: "
    "enable TLS 1.2 and 1.3 on the server"
)
NOT_TLS_MESSAGE = (
    "TLS: the server answered without TLS (it looks like plain HTTP on this port): "
    "use http:// or the port that serves TLS"
)


def tls_reason(reason: str | None) -> str | None:
    """What an OpenSSL handshake failure reason means for a person, when we know."""
    if reason in _OLD_PROTOCOL:
        return OLD_PROTOCOL_MESSAGE
    if reason in _NOT_TLS:
        return NOT_TLS_MESSAGE
    return None


def certificate_failure(exc: ssl.SSLCertVerificationError, *, host: str) -> str:
    code = exc.verify_code
    if code == _CERT_HAS_EXPIRED:
        return "TLS: certificate has expired"
    if code == _CERT_NOT_YET_VALID:
        return "TLS: certificate is not valid yet"
    if code in _HOSTNAME_MISMATCH:
        return f"TLS: certificate is not valid for {host}"
    if code in _UNKNOWN_ISSUER:
        return "TLS: certificate signed by an unknown authority"
    if code == _SELF_SIGNED_LEAF:
        return "TLS: certificate is self-signed and not trusted"
    if code == _CERT_REVOKED:
        return "TLS: certificate has been revoked"
    return f"TLS: certificate verification failed ({exc.verify_message})"
