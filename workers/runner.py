"""Run one claimed check: concurrency limits, the overall timeout, and bugs caught.

The runner owns the limits so due checks wait here, in order, rather than piling up
inside an HTTP client's connection pool (where throughput collapses).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from urllib.parse import urlsplit

from alerting.redact import scrub, secrets_of
from checks.base import CheckContext, CheckFn, CheckResult, MonitorSpec
from checks.registry import check_for
from store.results import RecordedResult
from telemetry.metrics import CHECK_DURATION, CHECK_LATENESS, CHECKS
from telemetry.monitor_series import MonitorSeries
from workers.claim import BROWSER_MARGIN_S, ClaimedRun

log = logging.getLogger(__name__)

# Past its own timeout, a check gets this long to return before the runner stops it.
TIMEOUT_MARGIN_S = 2.0
SaveArtifact = Callable[[str, bytes], Awaitable[str]]


def target_host(url: str) -> str:
    """The host a monitor's target names: ``https://h:1/x``, ``h:1`` and ``h`` give ``h``."""
    if "://" in url:
        return (urlsplit(url).hostname or url).lower()
    host = url.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1 : host.find("]")].lower()
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.lower()


class HostLimiter:
    """At most ``limit`` checks at once per target host; idle hosts are forgotten."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._hosts: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        sem, users = self._hosts.setdefault(host, (asyncio.Semaphore(self._limit), [0]))
        users[0] += 1
        try:
            async with sem:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._hosts[host]


def internal_error(exc: BaseException) -> CheckResult:
    return CheckResult(
        status="DOWN",
        error=f"Internal error while running the check: {type(exc).__name__}: {exc}",
    )


def overall_timeout(monitor: MonitorSpec, limit_s: float) -> CheckResult:
    return CheckResult(
        status="DOWN",
        error=(
            f"The check did not finish within {limit_s:g} s (the monitor's timeout is "
            f"{monitor.timeout_s:g} s). Check that the target answers, or raise the timeout."
        ),
    )


class Runner:
    """Runs claimed checks with the worker's shared context and limits."""

    def __init__(
        self,
        ctx: CheckContext,
        *,
        concurrency: int,
        per_host: int = 8,
        worker_id: str | None = None,
        artifacts: Callable[[str], SaveArtifact] | None = None,
    ) -> None:
        self.ctx = ctx
        # monitor id -> where that monitor's checks keep screenshots.
        self._artifacts = artifacts
        self.worker_id = worker_id
        self._slots = asyncio.Semaphore(concurrency)
        self._hosts = HostLimiter(per_host)
        self._checks: dict[str, CheckFn] = {}
        self._series = MonitorSeries()

    def _check(self, monitor_type: str) -> CheckFn:
        fn = self._checks.get(monitor_type)
        if fn is None:
            fn = self._checks[monitor_type] = check_for(monitor_type)
        return fn

    async def run(
        self, run: ClaimedRun, *, on_start: Callable[[], None] | None = None
    ) -> RecordedResult:
        """Wait for a slot, run the check, and return what to record.

        ``on_start`` is called once the check holds its slots and begins. The
        result's details gain ``scheduledAt`` (the slot) and ``latenessMs`` (how
        long after the slot the check started).
        """
        monitor = run.monitor
        # The host first: checks queued behind a slow host must not hold the
        # worker-wide slots that other hosts' checks need.
        async with self._hosts.hold(target_host(monitor.url)), self._slots:
            if on_start is not None:
                on_start()
            started_at = self.ctx.clock.now()
            result = await self._guarded(monitor)
            took_s = (self.ctx.clock.now() - started_at).total_seconds()
        lateness_ms = (started_at - run.due_at).total_seconds() * 1000
        CHECKS.labels(monitor.type, run.region, result.status).inc()
        CHECK_DURATION.labels(monitor.type, run.region).observe(took_s)
        CHECK_LATENESS.labels(run.region).observe(max(0.0, lateness_ms / 1000))
        self._series.observe(
            monitor.id,
            monitor.name,
            run.region,
            enabled=monitor.metrics_labels,
            status=result.status,
            took_s=took_s,
            interval_s=monitor.interval_s,
        )
        # A response may echo a credential (a header, the URL's password); results are
        # shown to every key of the organization and copied into alerts.
        secrets = secrets_of(monitor.url, monitor.config)
        result = replace(
            result, error=scrub(result.error, secrets), details=scrub(result.details, secrets)
        )
        details = dict(result.details)
        details["scheduledAt"] = run.due_at.isoformat()
        details["latenessMs"] = round(lateness_ms, 1)
        result = replace(result, details=details, checked_at=result.checked_at or started_at)
        return RecordedResult(
            monitor=monitor,
            region=run.region,
            result=result,
            due_at=run.due_at,
            started_at=started_at,
            worker_id=self.worker_id,
            lease_until=run.lease_until,
        )

    async def _guarded(self, monitor: MonitorSpec) -> CheckResult:
        ctx = self.ctx
        limit_s = monitor.timeout_s + TIMEOUT_MARGIN_S
        if monitor.type == "BROWSER":
            limit_s = monitor.timeout_s + BROWSER_MARGIN_S
            if self._artifacts is not None:
                ctx = replace(ctx, save_artifact=self._artifacts(monitor.id))
        try:
            fn = self._check(monitor.type)
            async with asyncio.timeout(limit_s):
                return await fn(monitor, ctx)
        except TimeoutError:
            log.warning("monitor %s: check overran its timeout of %g s", monitor.id, limit_s)
            return overall_timeout(monitor, limit_s)
        except Exception as exc:
            log.warning("monitor %s: the check raised", monitor.id, exc_info=True)
            return internal_error(exc)
