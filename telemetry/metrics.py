"""Every Prometheus metric a Vigil process exposes, defined once.

Names follow Prometheus conventions: the ``vigil_`` prefix, base units (seconds,
bytes), ``_total`` on counters. Labels stay bounded: check type, region, status,
channel type, outcome, HTTP route template; never a monitor id. Each process serves
the metrics of the parts it runs (``vigil run`` serves all of them on the API's
``/metrics``; ``vigil worker`` and ``vigil dispatcher`` on ``--metrics-port``).
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram

M = TypeVar("M", Counter, Gauge, Histogram)
# VIGIL_METRICS=off: every metric below records nothing (what bench/checks.py
# --no-metrics compares against, and for a fleet that does not scrape).
METRICS_ON = os.environ.get("VIGIL_METRICS", "on").lower() != "off"


class _Off:
    """Stands in for a metric when metrics are off: every call does nothing."""

    def labels(self, *_: object, **__: object) -> _Off:
        return self

    def inc(self, amount: float = 1) -> None:
        del amount

    def dec(self, amount: float = 1) -> None:
        del amount

    def set(self, value: float) -> None:
        del value

    def observe(self, amount: float) -> None:
        del amount

    def remove(self, *_: object) -> None:
        return None


def _metric(kind: type[M], *args: Any, **kwargs: Any) -> M:
    if METRICS_ON:
        return kind(*args, **kwargs)
    return _Off()  # type: ignore[return-value]


# Check durations: 5 ms to 60 s (a timed-out check lands in +Inf).
_DURATIONS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# How late a check started after its slot: healthy is a few ms.
_LATENESS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_BATCH = (1, 5, 10, 25, 50, 100, 200, 500)

CHECKS = _metric(
    Counter,
    "vigil_checks_total",
    "Checks run, by monitor type, region and result.",
    ["type", "region", "status"],
)
CHECK_DURATION = _metric(
    Histogram,
    "vigil_check_duration_seconds",
    "Time a check took, from its start to its verdict.",
    ["type", "region"],
    buckets=_DURATIONS,
)
CHECK_LATENESS = _metric(
    Histogram,
    "vigil_check_lateness_seconds",
    "How long after its scheduled slot a check started.",
    ["region"],
    buckets=_LATENESS,
)
CLAIM_BATCH = _metric(
    Histogram,
    "vigil_claim_batch_size",
    "Checks claimed per claim query.",
    ["region"],
    buckets=_BATCH,
)
CLAIM_DURATION = _metric(
    Histogram,
    "vigil_claim_duration_seconds",
    "Time of one claim transaction.",
    ["region"],
    buckets=_DURATIONS,
)
CHECKS_PENDING = _metric(
    Gauge,
    "vigil_checks_pending",
    "Checks claimed by this process, waiting for their slot.",
    ["region"],
)
CHECKS_RUNNING = _metric(
    Gauge, "vigil_checks_running", "Checks under way in this process.", ["region"]
)
RESULT_BATCH = _metric(
    Histogram, "vigil_result_batch_size", "Results written per store transaction.", buckets=_BATCH
)
RESULT_WRITE = _metric(
    Histogram,
    "vigil_result_write_duration_seconds",
    "Time of one result batch transaction (rows, streaks, incidents).",
    buckets=_DURATIONS,
)
RESULT_WRITE_FAILURES = _metric(
    Counter,
    "vigil_result_write_failures_total",
    "Result batches the store refused (kept and retried).",
)
ALERT_ATTEMPTS = _metric(
    Counter,
    "vigil_alert_delivery_attempts_total",
    "Alert delivery attempts, by channel type and outcome "
    "(delivered, retry, failed: given up, rejected: refused for good).",
    ["channel_type", "outcome"],
)
ALERT_OUTBOX = _metric(
    Gauge, "vigil_alert_outbox", "Alert outbox rows by delivery status.", ["status"]
)
ALERT_OLDEST_PENDING = _metric(
    Gauge,
    "vigil_alert_outbox_oldest_pending_seconds",
    "Age of the oldest alert not yet delivered (0 when none waits).",
)
BROWSERS_IN_USE = _metric(
    Gauge, "vigil_browser_pages_in_use", "Browser checks holding a browser slot now."
)
BROWSER_SLOTS = _metric(
    Gauge, "vigil_browser_slots", "Browser checks this process may run at once."
)
HEARTBEAT_SWEEP_LAG = _metric(
    Gauge,
    "vigil_heartbeat_sweep_lag_seconds",
    "How long past its deadline the oldest missed heartbeat was when the last sweep found it.",
)
HTTP_REQUESTS = _metric(
    Counter,
    "vigil_http_requests_total",
    "API requests, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = _metric(
    Histogram,
    "vigil_http_request_duration_seconds",
    "API request latency, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


def outcome_of(*, ok: bool, permanent: bool, final: bool) -> str:
    """The ``outcome`` label of one delivery attempt."""
    if ok:
        return "delivered"
    if permanent:
        return "rejected"
    return "failed" if final else "retry"


# Series per monitor, only for monitors that opt in (``metricsLabels``): each adds
# one series per region to each of these (and one per status to the counter).
MONITOR_UP = _metric(
    Gauge,
    "vigil_monitor_up",
    "1 if the monitor's last check in the region was UP or DEGRADED, 0 if DOWN.",
    ["monitor_id", "monitor", "region"],
)
MONITOR_CHECK_DURATION = _metric(
    Gauge,
    "vigil_monitor_check_duration_seconds",
    "How long the monitor's last check in the region took.",
    ["monitor_id", "monitor", "region"],
)
MONITOR_CHECKS = _metric(
    Counter,
    "vigil_monitor_checks_total",
    "Checks of the monitor run by this process, by region and result.",
    ["monitor_id", "monitor", "region", "status"],
)
