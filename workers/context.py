"""The one ``CheckContext`` a worker hands to every check, configured from the environment.

``VIGIL_DNS_NAMESERVERS``: comma-separated ``host`` or ``host:port`` the DNS check asks
instead of the system resolver. ``VIGIL_EXTRA_CA_FILE``: a PEM file of extra CA
certificates the verifying TLS context trusts besides the system store (private
CAs; the benchmark's and tests' loopback HTTPS targets). ``VIGIL_ALLOWED_TARGETS``:
networks every organization's checks may reach (``checks.target_policy``).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

from checks.base import CheckContext
from checks.target_policy import parse_networks
from store.clock import Clock, SystemClock


def build_context(
    clock: Clock | None = None, *, environ: Mapping[str, str] | None = None
) -> CheckContext:
    """A context with shared TLS contexts, the clock, and the configured nameservers."""
    env = os.environ if environ is None else environ
    verify = ssl.create_default_context()
    ca_file = env.get("VIGIL_EXTRA_CA_FILE", "").strip()
    if ca_file:
        try:
            verify.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"VIGIL_EXTRA_CA_FILE={ca_file!r} could not be loaded ({exc}); "
                "point it at a readable PEM file of CA certificates or unset it"
            ) from exc
    servers = tuple(s.strip() for s in env.get("VIGIL_DNS_NAMESERVERS", "").split(",") if s.strip())
    return CheckContext(
        clock=clock or SystemClock(),
        ssl_verify=verify,
        nameservers=servers,
        allowed_targets=parse_networks(env.get("VIGIL_ALLOWED_TARGETS", "")),
    )
