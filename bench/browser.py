"""Browser checks per minute and Chromium's memory, against a loopback login page.

    python -m bench.browser --seconds 60

One ``BrowserPool`` (default concurrency 2) runs a six-step login check (or, with
``--flow page``, a single page load) in a loop from as many tasks as it has slots.
RSS is the sum over the browser's process tree (shared pages count once per
process, so it overstates the machine's real use).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
from pathlib import Path

from checks.base import CheckContext, MonitorSpec
from checks.browser import BrowserPool
from checks.browser_process import tree_rss_bytes
from tests.servers.pages import serve_pages

STEPS = [
    {"action": "goto", "url": "/login"},
    {"action": "fill", "selector": "#user", "value": "alice"},
    {"action": "fill", "selector": "#pass", "value": "secret"},
    {"action": "click", "selector": "#submit"},
    {"action": "waitForURL", "url": "/dashboard"},
    {"action": "assertText", "selector": "#greeting", "text": "Welcome, alice"},
]
MB = 1024 * 1024


async def _checks(pool: BrowserPool, spec: MonitorSpec, until: float, out: list[float]) -> int:
    failures = 0
    while time.perf_counter() < until:
        result = await pool.run_check(spec, CheckContext())
        if result.status != "UP":
            failures += 1
            print(f"  failed: {result.error}")
        out.append(float(result.response_time_ms or 0))
    return failures


async def _sample_rss(pool: BrowserPool, stop: asyncio.Event, samples: list[int]) -> None:
    while not stop.is_set():
        if pool.pid is not None:
            samples.append(await asyncio.to_thread(tree_rss_bytes, pool.pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


def _driver_rss(browser_pid: int) -> int:
    """RSS of Playwright's node driver, the browser's parent."""
    stat = Path(f"/proc/{browser_pid}/stat").read_text()
    pid = int(stat.rsplit(")", 1)[1].split()[1])
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def bench(seconds: float, concurrency: int, flow: str) -> None:
    with serve_pages() as site:
        pool = BrowserPool(max_concurrency=concurrency)
        config = {"steps": STEPS} if flow == "login" else {}
        url = site.url("/" if flow == "login" else "/ok")
        spec = MonitorSpec(id="bench", name=flow, type="BROWSER", url=url, config=config)
        try:
            began = time.perf_counter()
            warm = await pool.run_check(spec, CheckContext())
            first_ms = (time.perf_counter() - began) * 1000
            print(f"first check (includes launch): {first_ms:.0f} ms, {warm.status}")
            print(f"chromium {pool.version}, concurrency {concurrency}, flow {flow}")
            durations: list[float] = []
            rss: list[int] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(_sample_rss(pool, stop, rss))
            started = time.perf_counter()
            until = started + seconds
            failures = await asyncio.gather(
                *(_checks(pool, spec, until, durations) for _ in range(concurrency))
            )
            elapsed = time.perf_counter() - started
            stop.set()
            await sampler
            driver_rss = await asyncio.to_thread(_driver_rss, pool.pid or 0)
        finally:
            await pool.close()
    quantiles = statistics.quantiles(durations, n=20, method="inclusive")
    print(f"checks: {len(durations)} in {elapsed:.1f} s, failed: {sum(failures)}")
    print(f"browser checks per minute: {len(durations) / elapsed * 60:.0f}")
    print(
        f"check time ms: p50 {quantiles[9]:.0f}, p95 {quantiles[18]:.0f}, max {max(durations):.0f}"
    )
    print(
        f"chromium tree RSS: mean {statistics.mean(rss) / MB:.0f} MB, peak {max(rss) / MB:.0f} MB"
    )
    print(f"playwright driver (node) RSS at end: {driver_rss / MB:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--flow",
        choices=("login", "page"),
        default="login",
        help="login: six steps over two pages; page: open one page with a stylesheet and image",
    )
    args = parser.parse_args()
    asyncio.run(bench(args.seconds, args.concurrency, args.flow))


if __name__ == "__main__":
    main()
