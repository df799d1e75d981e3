"""BROWSER monitors: a real Chromium runs the monitor's steps (see ``browser_steps``).

``run`` uses one ``BrowserPool`` per event loop, created on first use; a worker calls
``close_default_pool()`` when it stops. ``VIGIL_CHROMIUM_PATH`` picks the browser
binary and ``VIGIL_BROWSER_CONCURRENCY`` (default 2) how many checks share it at once.

Result: ``response_time_ms`` is the whole check; ``timings`` hold the first page's
Navigation Timing phases (dns, tcp, tls, ttfb, download) and ``total`` the whole
check; ``details`` hold ``browserVersion``, ``steps`` (index from 1, action,
selector/url, durationMs, ok, error), ``consoleErrors``, ``failedRequests``,
``domContentLoadedMs``, ``loadMs``, ``finalUrl`` and, after a failure when the
worker keeps artifacts, ``screenshot``. Console errors and failed requests leave
the check UP unless ``failOnConsoleErrors`` / ``failOnFailedRequests`` is true.
``ignoreHttpsErrors`` (default false) accepts self-signed or otherwise invalid
certificates, for internal sites; the SSL monitor type is where certificates are judged.
"""

from __future__ import annotations

import asyncio
import os

from checks.base import CheckContext, CheckResult, MonitorSpec
from checks.browser_pool import BrowserPool, LaunchError, chromium_path

__all__ = ["BrowserPool", "LaunchError", "chromium_path", "close_default_pool", "run"]

_pools: dict[asyncio.AbstractEventLoop, BrowserPool] = {}


async def run(monitor: MonitorSpec, ctx: CheckContext) -> CheckResult:
    """Run one BROWSER monitor in this event loop's shared browser."""
    return await default_pool().run_check(monitor, ctx)


def default_pool() -> BrowserPool:
    """The running event loop's pool, created (not yet launched) on first use."""
    loop = asyncio.get_running_loop()
    for stale in [other for other in _pools if other.is_closed()]:
        del _pools[stale]
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = BrowserPool(max_concurrency=_concurrency())
    return pool


def _concurrency() -> int:
    raw = os.environ.get("VIGIL_BROWSER_CONCURRENCY", "2")
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"VIGIL_BROWSER_CONCURRENCY must be a whole number from 1, not {raw!r}")
    return int(raw)


async def close_default_pool() -> None:
    """Stop the running event loop's browser, if one was started."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()
