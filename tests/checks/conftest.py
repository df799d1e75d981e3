"""Fixtures for check tests: test certificates and a CheckContext that trusts them."""

from __future__ import annotations

import pytest

from checks.base import CheckContext
from store.clock import FrozenClock
from tests.servers.tls import Pki


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki()


@pytest.fixture
def check_ctx(pki: Pki, clock: FrozenClock) -> CheckContext:
    """A context whose verifying TLS context trusts the test CA (and nothing else)."""
    return CheckContext(clock=clock, ssl_verify=pki.client_context())
