"""Timing assertions shared by check tests.

A phase carrying an injected delay must hold it: it cannot be shorter than the
delay (minus the few ms by which client and server see a boundary differently),
and may be longer by what a loaded 2-core machine adds to sleeps and scheduling.
"""

from __future__ import annotations

from checks.base import CheckResult, Timings

EARLY_MS = 20
LATE_MS = 100
# With no delay injected, a loopback phase stays well under any injected one.
IDLE_MS = 60


def assert_holds(measured: float | None, injected_ms: float, timings: Timings) -> None:
    assert measured is not None, timings
    assert injected_ms - EARLY_MS <= measured <= injected_ms + LATE_MS, timings


def phase_sum(result: CheckResult) -> float:
    t = result.timings
    return sum(p or 0.0 for p in (t.dns, t.tcp, t.tls, t.ttfb, t.download))
