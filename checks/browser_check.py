"""One browser check inside an already launched browser: steps, deadline, crash, result.

Statuses: every step passed -> UP. Console errors and failed sub-resource requests
are always recorded in ``details``; they make the check DOWN only when the monitor
sets ``failOnConsoleErrors`` / ``failOnFailedRequests`` (otherwise it stays UP).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    Error,
    Page,
    ProxySettings,
    ViewportSize,
)

from checks.base import CheckContext, CheckResult, MonitorSpec, Timings
from checks.browser_actions import StepFailed, perform, seconds, shorten
from checks.browser_page import NavigationTiming, PageWatch, read_navigation_timing
from checks.browser_steps import Step

DEFAULT_STEP_TIMEOUT_MS = 5_000
# Past the check's deadline, how long the hard stop waits for a step that ignores its
# own timeout; kept small because the worker's runner has a deadline too.
HARD_STOP_GRACE_S = 1.0
FAILURE_SCREENSHOT_TIMEOUT_MS = 2_000
CLOSE_TIMEOUT_S = 5.0
VIEWPORT: ViewportSize = {"width": 1280, "height": 720}


@dataclass
class LaunchedBrowser:
    """One running Chromium and what the pool knows about it."""

    browser: Browser
    version: str
    pid: int | None
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False
    hung: bool = False

    def alive(self) -> bool:
        return self.browser.is_connected() and not self.disconnected.is_set() and not self.hung


@dataclass
class _Progress:
    """What the steps have done so far; read by whoever ends the check."""

    steps: list[Step]
    deadline: float
    timeout_s: float
    records: list[dict[str, Any]] = field(default_factory=list)
    current: Step | None = None
    failure: str | None = None
    status_code: int | None = None
    navigation: NavigationTiming | None = None


async def check_in_browser(
    launched: LaunchedBrowser,
    monitor: MonitorSpec,
    ctx: CheckContext,
    steps: list[Step],
    *,
    proxy: ProxySettings | None = None,
) -> CheckResult:
    """Run ``steps`` in a fresh browser context (no shared cookies or storage).

    ``proxy``: where the context sends every request (``checks.browser_proxy``).
    """
    checked_at = ctx.clock.now()
    started = time.perf_counter()
    progress = _Progress(
        steps=steps, deadline=started + monitor.timeout_s, timeout_s=monitor.timeout_s
    )
    details: dict[str, Any] = {"browserVersion": launched.version}
    context: BrowserContext | None = None
    error: str | None
    try:
        try:
            async with asyncio.timeout(monitor.timeout_s):
                context = await launched.browser.new_context(
                    viewport=VIEWPORT,
                    ignore_https_errors=bool(monitor.config.get("ignoreHttpsErrors")),
                    proxy=proxy,
                )
                page = await context.new_page()
        except TimeoutError:
            launched.hung = True  # alive but not answering: the pool replaces it
            error = (
                f"Check timed out after {seconds(monitor.timeout_s * 1000)} while opening a "
                "new page: the browser is not responding; it will be relaunched"
            )
            return _result(progress, details, error, checked_at=checked_at, started=started)
        watch = PageWatch(page)
        error = await _drive(launched, page, progress, ctx)
        if error is None:
            error = _judge_page(watch, monitor)
        details.update(_watch_details(watch))
        if error is not None and launched.alive():
            details.update(await _failure_screenshot(page, ctx))
    except Error as exc:
        # Only new_context/new_page get here, and mostly because the browser is gone.
        gone = not launched.alive()
        error = _browser_gone(launched, progress) if gone else _step_error(progress, exc.message)
    finally:
        if context is not None and launched.alive() and not await _closed(context):
            launched.hung = True
    return _result(progress, details, error, checked_at=checked_at, started=started)


async def _drive(
    launched: LaunchedBrowser,
    page: Page,
    progress: _Progress,
    ctx: CheckContext,
) -> str | None:
    """Run the steps against the deadline and a browser crash; the error, or None."""
    steps_task = asyncio.create_task(_run_steps(page, progress, ctx))
    crash_task = asyncio.create_task(launched.disconnected.wait())
    budget = progress.deadline - time.perf_counter() + HARD_STOP_GRACE_S
    try:
        await asyncio.wait({steps_task, crash_task}, timeout=budget, return_when="FIRST_COMPLETED")
    finally:
        crash_task.cancel()
        if not steps_task.done():
            steps_task.cancel()
            await asyncio.wait({steps_task})
    if not steps_task.cancelled() and steps_task.exception() is None:
        return progress.failure
    if launched.disconnected.is_set():
        return _browser_gone(launched, progress)
    if steps_task.cancelled():
        step = progress.current or progress.steps[-1]
        _mark_unfinished(progress, "did not finish before the check's deadline")
        return _timed_out_text(progress, step)
    exc = steps_task.exception()
    if isinstance(exc, Error):
        # A crash may surface as a closed-target error a moment before "disconnected".
        try:
            await asyncio.wait_for(launched.disconnected.wait(), timeout=1.0)
        except TimeoutError:
            return _step_error(progress, shorten(exc.message.splitlines()[0], 300))
        return _browser_gone(launched, progress)
    assert exc is not None
    raise exc


async def _run_steps(page: Page, progress: _Progress, ctx: CheckContext) -> None:
    for step in progress.steps:
        progress.current = step
        remaining_ms = (progress.deadline - time.perf_counter()) * 1000
        if remaining_ms <= 0:
            progress.failure = _timed_out_text(progress, step)
            return
        # Page loads may take the whole check's time; element waits get a few seconds.
        unbounded = step.action in ("goto", "waitForURL")
        wanted_ms = step.timeout_ms or (math.inf if unbounded else DEFAULT_STEP_TIMEOUT_MS)
        timeout_ms = min(wanted_ms, remaining_ms)
        record: dict[str, Any] = {"index": step.index, "action": step.action}
        record.update({k: v for k, v in (("selector", step.selector), ("url", step.url)) if v})
        progress.records.append(record)
        began = time.perf_counter()
        try:
            record.update(
                await perform(page, step, timeout_ms=timeout_ms, save_artifact=ctx.save_artifact)
            )
        except StepFailed as failed:
            record.update(ok=False, error=failed.reason, durationMs=_ms_since(began))
            if failed.status is not None:
                record["status"] = failed.status
                progress.status_code = progress.status_code or failed.status
            cut_by_deadline = failed.timed_out and timeout_ms < wanted_ms
            progress.failure = (
                _timed_out_text(progress, step)
                if cut_by_deadline
                else f"Step {step.index} ({step.describe()}): {failed.reason}"
            )
            return
        record.update(ok=True, durationMs=_ms_since(began))
        if step.action == "goto" and progress.navigation is None:
            progress.status_code = record.get("status")
            progress.navigation = await read_navigation_timing(page)
    progress.current = None


def _judge_page(watch: PageWatch, monitor: MonitorSpec) -> str | None:
    if monitor.config.get("failOnConsoleErrors") and watch.console_errors:
        text = shorten(watch.console_errors[0]["text"])
        return (
            f"The page logged {watch.console_error_count} console error(s), first: {text}; "
            "fix the page's scripts or set failOnConsoleErrors to false"
        )
    if monitor.config.get("failOnFailedRequests") and watch.failed_requests:
        failed = watch.failed_requests[0]
        why = f"HTTP {failed['status']}" if "status" in failed else failed["failure"]
        return (
            f"{watch.failed_request_count} request(s) for page resources failed, first: "
            f"{failed['url']} ({why}); fix them or set failOnFailedRequests to false"
        )
    return None


def _watch_details(watch: PageWatch) -> dict[str, Any]:
    return {
        "consoleErrors": list(watch.console_errors),
        "consoleErrorCount": watch.console_error_count,
        "failedRequests": list(watch.failed_requests),
        "failedRequestCount": watch.failed_request_count,
        "finalUrl": watch.page.url,
    }


async def _failure_screenshot(page: Page, ctx: CheckContext) -> dict[str, Any]:
    if ctx.save_artifact is None:
        return {}
    try:
        png = await page.screenshot(
            full_page=True, type="png", timeout=FAILURE_SCREENSHOT_TIMEOUT_MS
        )
        return {"screenshot": await ctx.save_artifact("screenshot.png", png)}
    except Exception as exc:  # a missing screenshot must not hide why the check failed
        return {"screenshotError": shorten(str(exc).splitlines()[0] if str(exc) else repr(exc))}


async def _closed(context: BrowserContext) -> bool:
    """Close ``context``; False when the browser did not answer in time."""
    try:
        await asyncio.wait_for(context.close(), CLOSE_TIMEOUT_S)
    except Error:
        pass  # the browser went away meanwhile; the pool relaunches it
    except TimeoutError:
        return False
    return True


def _where(progress: _Progress) -> str:
    step = progress.current
    return f"step {step.index}: {step.describe()}" if step else "while opening a new page"


def _browser_gone(launched: LaunchedBrowser, progress: _Progress) -> str:
    _mark_unfinished(progress, "the browser went away")
    if launched.closing:
        return (
            f"The browser was shut down during the check ({_where(progress)}); "
            "the worker is stopping"
        )
    return f"Browser crashed during the check ({_where(progress)}); it will be relaunched"


def _timed_out_text(progress: _Progress, step: Step) -> str:
    return (
        f"Check timed out after {seconds(progress.timeout_s * 1000)} in step {step.index} "
        f"({step.describe()}); raise the monitor's timeout or make the page faster"
    )


def _mark_unfinished(progress: _Progress, why: str) -> None:
    if progress.records and "ok" not in progress.records[-1]:
        progress.records[-1].update(ok=False, error=why)


def _step_error(progress: _Progress, message: str) -> str:
    step = progress.current
    where = f"Step {step.index} ({step.describe()})" if step else "Opening the page"
    return f"{where}: {message}"


def _result(
    progress: _Progress,
    details: dict[str, Any],
    error: str | None,
    *,
    checked_at: datetime,
    started: float,
) -> CheckResult:
    total_ms = _ms_since(started)
    nav = progress.navigation
    details["steps"] = progress.records
    if nav is not None:
        details["domContentLoadedMs"] = nav.dom_content_loaded_ms
        details["loadMs"] = nav.load_ms
    phases = nav.timings if nav is not None else Timings()
    return CheckResult(
        status="DOWN" if error else "UP",
        response_time_ms=round(total_ms),
        status_code=progress.status_code,
        timings=Timings(
            dns=phases.dns,
            tcp=phases.tcp,
            tls=phases.tls,
            ttfb=phases.ttfb,
            download=phases.download,
            total=total_ms,
        ),
        size_bytes=nav.size_bytes if nav is not None else None,
        error=error,
        details=details,
        checked_at=checked_at,
    )


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 1)
