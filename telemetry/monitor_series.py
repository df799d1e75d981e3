"""Prometheus series labelled with a monitor, for the monitors that opt in.

Off by default: a monitor id label multiplies series by the number of monitors.
A series goes away when its monitor opts out, and when the process has not run the
monitor for a while (it was deleted, paused, or moved to another worker), so a
scrape never shows a stale verdict.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from telemetry.metrics import MONITOR_CHECK_DURATION, MONITOR_CHECKS, MONITOR_UP

STATUSES = ("UP", "DEGRADED", "DOWN")


class MonitorSeries:
    """The opted-in monitors' series in this process, and when each was last fed."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        # (monitor id, name, region) -> (last seen, how long it may go unseen)
        self._seen: dict[tuple[str, str, str], tuple[float, float]] = {}

    def observe(
        self,
        monitor_id: str,
        name: str,
        region: str,
        *,
        enabled: bool,
        status: str,
        took_s: float,
        interval_s: float,
    ) -> None:
        """Record one check of a monitor (or drop its series if it opted out)."""
        now = self._monotonic()
        self._expire(now)
        if not enabled:
            for key in [k for k in self._seen if k[0] == monitor_id and k[2] == region]:
                self._remove(key)
            return
        key = (monitor_id, name, region)
        for old in [k for k in self._seen if k[0] == monitor_id and k[2] == region and k != key]:
            self._remove(old)  # renamed
        # Three missed slots (and a minute's slack) and it is not ours any more.
        self._seen[key] = (now, 3 * interval_s + 60)
        MONITOR_UP.labels(*key).set(0 if status == "DOWN" else 1)
        MONITOR_CHECK_DURATION.labels(*key).set(took_s)
        MONITOR_CHECKS.labels(*key, status).inc()

    def _expire(self, now: float) -> None:
        for key, (seen, ttl) in list(self._seen.items()):
            if now - seen > ttl:
                self._remove(key)

    def _remove(self, key: tuple[str, str, str]) -> None:
        self._seen.pop(key, None)
        for gauge in (MONITOR_UP, MONITOR_CHECK_DURATION):
            with contextlib.suppress(KeyError):
                gauge.remove(*key)
        for status in STATUSES:
            with contextlib.suppress(KeyError):
                MONITOR_CHECKS.remove(*key, status)
