"""The one interface every check type implements, and the values it passes around.

``async def run(monitor: MonitorSpec, ctx: CheckContext) -> CheckResult``

A check never raises for a target's failure: it returns a DOWN result whose
``error`` says what a person needs to know. The worker's runner applies the
overall timeout and catches bugs.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from checks.target_policy import Network, TargetPolicy
from store.clock import Clock, SystemClock

Status = Literal["UP", "DOWN", "DEGRADED"]


@dataclass(frozen=True)
class MonitorSpec:
    """An immutable snapshot of one monitor's settings, as a worker runs it."""

    id: str
    name: str
    type: str
    url: str
    region: str = "local"
    method: str = "GET"
    timeout_s: float = 30.0
    interval_s: int = 60
    expected_status: int | None = None
    expected_keyword: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    org_id: str = ""
    # Whether the organization may reach internal addresses (checks.target_policy).
    # False unless the store says otherwise: a spec built without it fails closed.
    trusted: bool = False
    # Opted in to Prometheus series labelled with its id (telemetry.monitor_series).
    metrics_labels: bool = False


@dataclass(frozen=True)
class Timings:
    """Phases of one check in milliseconds; None where a phase did not happen."""

    dns: float | None = None
    tcp: float | None = None
    tls: float | None = None
    ttfb: float | None = None
    download: float | None = None
    total: float | None = None


@dataclass
class CheckResult:
    """What one run of one check found."""

    status: Status
    response_time_ms: int | None = None
    status_code: int | None = None
    timings: Timings = field(default_factory=Timings)
    size_bytes: int | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    checked_at: datetime | None = None


@dataclass
class CheckContext:
    """Shared machinery handed to every check: TLS contexts, DNS, clock, limits."""

    clock: Clock = field(default_factory=SystemClock)
    # One verifying context shared by all checks: building one per check costs ~30 ms.
    ssl_verify: ssl.SSLContext = field(default_factory=ssl.create_default_context)
    ssl_noverify: ssl.SSLContext = field(default_factory=lambda: _noverify_context())
    # Nameservers as "host" or "host:port"; empty means the system's resolv.conf.
    nameservers: tuple[str, ...] = ()
    # Bounds concurrent UDP DNS queries: past ~100 in flight, queries get dropped.
    dns_limit: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(64))
    # Where a check may store binary artifacts (screenshots); returns a reference.
    save_artifact: Callable[[str, bytes], Awaitable[str]] | None = None
    # Networks every organization may reach (VIGIL_ALLOWED_TARGETS), trusted or not.
    allowed_targets: tuple[Network, ...] = ()

    def policy(self, monitor: MonitorSpec) -> TargetPolicy:
        """The target policy ``monitor``'s checks are held to."""
        return TargetPolicy(trusted=monitor.trusted, allowed=self.allowed_targets)


def _noverify_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


CheckFn = Callable[[MonitorSpec, CheckContext], Awaitable[CheckResult]]
