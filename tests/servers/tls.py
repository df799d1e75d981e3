"""Test certificates from a trustme CA: good, expired, wrong-host, and an untrusted CA.

``Pki.client_context()`` is what a check's ``ctx.ssl_verify`` should be in tests;
``Pki.server_context(pki.good)`` serves a certificate from ``HttpServer``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import trustme

TEST_NAME = "vigil.test"
GOOD_NAMES = ("localhost", "127.0.0.1", "::1", TEST_NAME)


def _expired(ca: trustme.CA) -> trustme.LeafCert:
    now = datetime.now(UTC)
    return ca.issue_cert(
        *GOOD_NAMES, not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
    )


@dataclass
class Pki:
    ca: trustme.CA = field(default_factory=trustme.CA)
    other_ca: trustme.CA = field(default_factory=trustme.CA)

    def __post_init__(self) -> None:
        self.good = self.ca.issue_cert(*GOOD_NAMES)
        self.expired = _expired(self.ca)
        self.wrong_host = self.ca.issue_cert("other.invalid")
        self.unknown_ca = self.other_ca.issue_cert(*GOOD_NAMES)

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx

    @staticmethod
    def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        return ctx
