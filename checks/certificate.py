"""An X.509 certificate reduced to what a person checks, and why verification failed."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

# OpenSSL X509_V_ERR_* codes, as ssl.SSLCertVerificationError.verify_code carries them.
CERT_NOT_YET_VALID = 9
CERT_HAS_EXPIRED = 10
SELF_SIGNED_LEAF = 18
UNKNOWN_ISSUER = frozenset({2, 19, 20, 21})
HOSTNAME_MISMATCH = frozenset({62, 64})
_DER = 2  # _ssl.ENCODING_DER, what _ssl.Certificate.public_bytes takes


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    names: tuple[str, ...]  # DNS and IP subjectAltNames, else the subject CN
    not_before: datetime
    not_after: datetime
    serial: str
    sha256: str
    self_signed: bool

    def days_remaining(self, now: datetime) -> int:
        """Whole days until expiry; once expired, minus the whole days since (as ``expired``)."""
        return math.trunc((self.not_after - now).total_seconds() / 86400)

    def details(self, now: datetime) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "subjectAltNames": list(self.names),
            "notBefore": self.not_before.isoformat(),
            "notAfter": self.not_after.isoformat(),
            "daysRemaining": self.days_remaining(now),
            "serialNumber": self.serial,
            "fingerprintSha256": self.sha256,
        }


def parse(der: bytes) -> Certificate:
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(san.get_values_for_type(x509.DNSName)) + tuple(
            str(ip) for ip in san.get_values_for_type(x509.IPAddress)
        )
    except x509.ExtensionNotFound:
        names = ()
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        names=names or tuple(_common_names(cert.subject)),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        serial=format(cert.serial_number, "x"),
        sha256=hashlib.sha256(der).hexdigest(),
        self_signed=cert.issuer == cert.subject,
    )


def _common_names(name: x509.Name) -> list[str]:
    return [str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]


def short_name(rfc4514: str) -> str:
    """The CN of a distinguished name when it has one, else the whole name."""
    for part in rfc4514.split(","):
        key, _, value = part.partition("=")
        if key.strip().upper() == "CN" and value:
            return value
    return rfc4514


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def days_text(days: int) -> str:
    if days == 0:
        return "less than a day"
    return "1 day" if days == 1 else f"{days} days"


def expired(cert: Certificate, now: datetime) -> str:
    ago = math.floor((now - cert.not_after).total_seconds() / 86400)
    return f"TLS: certificate expired on {when(cert.not_after)} ({days_text(ago)} ago)"


def not_yet_valid(cert: Certificate, now: datetime) -> str:
    ahead = math.ceil((cert.not_before - now).total_seconds() / 86400)
    return f"TLS: certificate is not valid until {when(cert.not_before)} (in {days_text(ahead)})"


def sent_chain(ssl_object: Any) -> list[bytes]:
    """The certificates (DER) the server sent, its own first; empty if unknown."""
    # Public from Python 3.13; 3.10-3.12 have it on the underlying _ssl object.
    getter = getattr(ssl_object, "get_unverified_chain", None) or getattr(
        getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None
    )
    if getter is None:
        return []
    chain = getter() or []
    return [c if isinstance(c, bytes) else c.public_bytes(_DER) for c in chain]


def verify_failure(
    code: int,
    message: str,
    cert: Certificate | None,
    *,
    host: str,
    now: datetime,
    chain_length: int = 0,
) -> str:
    """What a failed verification means for a person, naming the certificate's own facts."""
    if cert is None:
        return f"TLS: certificate verification failed ({message})"
    if code == CERT_HAS_EXPIRED:
        return expired(cert, now)
    if code == CERT_NOT_YET_VALID:
        return not_yet_valid(cert, now)
    if code in HOSTNAME_MISMATCH:
        return f"TLS: certificate is for {', '.join(cert.names) or cert.subject}, not {host}"
    if code == SELF_SIGNED_LEAF or (code in UNKNOWN_ISSUER and cert.self_signed):
        return f"TLS: certificate is self-signed and not trusted ({short_name(cert.subject)})"
    if code in UNKNOWN_ISSUER and chain_length == 1:
        # From the leaf alone a missing intermediate and a private CA look the same.
        issuer = short_name(cert.issuer)
        return (
            f"TLS: the server sent only its own certificate, and its issuer {issuer!r} "
            f"is missing and not trusted: serve the full chain (certificate, then the "
            f"intermediate {issuer!r}), or trust {issuer!r} if it is a private CA"
        )
    if code in UNKNOWN_ISSUER:
        return f"TLS: certificate is signed by an unknown authority ({short_name(cert.issuer)})"
    return f"TLS: certificate verification failed ({message})"
