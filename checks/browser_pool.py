"""One Chromium per worker, launched on first use, reused, relaunched after a crash.

Each check gets a fresh browser context (no cookies or storage carried over) and
waits for one of ``max_concurrency`` slots: a check holds ~100-200 MB on top of
the browser's own few hundred.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from pathlib import Path

from playwright.async_api import Error, Playwright, async_playwright

from checks.base import CheckContext, CheckResult, MonitorSpec
from checks.browser_check import CLOSE_TIMEOUT_S, LaunchedBrowser, check_in_browser
from checks.browser_process import find_browser_pid
from checks.browser_proxy import VettingProxy
from checks.browser_steps import Step, parse_steps, validate_config
from telemetry.metrics import BROWSER_SLOTS, BROWSERS_IN_USE

# The machine may have no network: without these Chromium keeps dialing Google services.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # An untrusted check's traffic must all pass its proxy: no UDP around it (WebRTC),
    # no lookups of its own (prefetch).
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--dns-prefetch-disable",
)
LAUNCH_TIMEOUT_MS = 30_000
_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")


def chromium_path() -> str:
    """``VIGIL_CHROMIUM_PATH``, else Debian's Chromium binary (not its noisy shell wrapper)."""
    configured = os.environ.get("VIGIL_CHROMIUM_PATH")
    if configured:
        return configured
    return next((p for p in _CANDIDATES if Path(p).exists()), _CANDIDATES[-1])


class LaunchError(Exception):
    """Chromium could not be started; the message says how to fix it."""


class BrowserPool:
    """Runs browser checks in one shared Chromium, at most ``max_concurrency`` at once."""

    def __init__(self, executable_path: str | None = None, *, max_concurrency: int = 2) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.executable_path = executable_path or chromium_path()
        self._slots = asyncio.Semaphore(max_concurrency)
        BROWSER_SLOTS.set(max_concurrency)
        self._launch_lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._current: LaunchedBrowser | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The running browser's process id, None before the first launch."""
        return self._current.pid if self._current else None

    @property
    def version(self) -> str | None:
        return self._current.version if self._current else None

    async def run_check(self, monitor: MonitorSpec, ctx: CheckContext) -> CheckResult:
        """Run one BROWSER monitor; never raises for the page's or the browser's failure."""
        issues = validate_config(monitor.config)
        if issues:
            listed = "; ".join(f"{where} {issue}" for where, issue in issues)
            return CheckResult(
                status="DOWN",
                error=f"The monitor's browser config is invalid: {listed}; fix the monitor",
                details={"browserVersion": self.version},
                checked_at=ctx.clock.now(),
            )
        steps = parse_steps(monitor.config, monitor.url)
        async with self._slots:
            BROWSERS_IN_USE.inc()
            try:
                return await self._run_in_slot(monitor, ctx, steps)
            finally:
                BROWSERS_IN_USE.dec()

    async def _run_in_slot(
        self, monitor: MonitorSpec, ctx: CheckContext, steps: list[Step]
    ) -> CheckResult:
        try:
            launched = await self._browser()
        except LaunchError as exc:
            return CheckResult(
                status="DOWN",
                error=str(exc),
                details={"browserVersion": None},
                checked_at=ctx.clock.now(),
            )
        if monitor.trusted:
            return await check_in_browser(launched, monitor, ctx, steps)
        async with VettingProxy(ctx.policy(monitor), ctx) as proxy:
            result = await check_in_browser(launched, monitor, ctx, steps, proxy=proxy.settings)
        return _with_refusals(result, proxy.refusals)

    async def close(self) -> None:
        """Stop the browser and Playwright's driver; checks still running fail."""
        async with self._launch_lock:
            self._closed = True
            current, self._current = self._current, None
            if current is not None:
                current.closing = True
                await _close_browser(current)
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None

    async def _browser(self) -> LaunchedBrowser:
        async with self._launch_lock:
            if self._closed:
                raise LaunchError("The browser pool is closed; the worker is stopping")
            current = self._current
            if current is not None and current.alive():
                return current
            if current is not None:
                await _close_browser(current)
            self._current = await self._launch()
            return self._current

    async def _launch(self) -> LaunchedBrowser:
        path = self.executable_path
        if not os.path.exists(path):  # noqa: ASYNC240 - one stat per launch
            raise LaunchError(
                f"Chromium was not found at {path}; install Debian's chromium package "
                "or set VIGIL_CHROMIUM_PATH to the browser binary"
            )
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        # An unknown switch Chromium ignores, so /proc tells which process is ours.
        marker = f"--vigil-browser-pool={secrets.token_hex(8)}"
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=path, args=[*CHROMIUM_FLAGS, marker], timeout=LAUNCH_TIMEOUT_MS
            )
        except Error as exc:
            first = exc.message.splitlines()[0] if exc.message else "no message"
            raise LaunchError(
                f"Chromium at {path} did not start ({first}); check that it runs with "
                "`--headless --no-sandbox`, or set VIGIL_CHROMIUM_PATH"
            ) from None
        pid = await asyncio.to_thread(find_browser_pid, marker)
        launched = LaunchedBrowser(browser=browser, version=browser.version, pid=pid)
        browser.on("disconnected", lambda _: launched.disconnected.set())
        return launched


def _with_refusals(result: CheckResult, refusals: list[str]) -> CheckResult:
    """Name the target policy's refusals, the likely reason a step or resource failed."""
    if refusals:
        result.details["refusedRequests"] = refusals
        if result.status == "DOWN" and result.error:
            result.error = f"{result.error}; {refusals[0]}"
    return result


async def _close_browser(launched: LaunchedBrowser) -> None:
    # A hung browser does not close when asked; its pid is ours (found by its marker).
    if launched.hung:
        _kill(launched.pid)
    try:
        await asyncio.wait_for(launched.browser.close(), CLOSE_TIMEOUT_S)
    except Error:
        pass  # a crashed browser has nothing left to close
    except TimeoutError:
        _kill(launched.pid)


def _kill(pid: int | None) -> None:
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
