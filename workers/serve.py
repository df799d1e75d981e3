"""The long-running parts of ``vigil run`` and ``vigil api`` in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ai.duties import run_ai_duties
from alerting.dispatcher import Dispatcher
from alerting.evaluator import Evaluator
from alerting.heartbeats import sweep_missed
from alerting.housekeeping import run_alert_duties
from api.main import create_app, prepare_app
from pages.duties import run_page_duties
from store.bootstrap import Bootstrapped, bootstrap
from store.clock import SystemClock
from store.config import Settings
from store.db import Store
from store.outage import OutageLog
from store.retention import apply_retention
from telemetry.serve import serve_metrics

log = logging.getLogger("vigil")
# Partitions are created days ahead and a day is dropped once: once a minute is plenty.
RETENTION_EVERY_S = 60.0


async def _retention(store: Store, days: int) -> None:
    # A failed pass is retried at the next one (calmly() logs it) and stops no other duty.
    await apply_retention(store, now=SystemClock().now(), days=days)


def print_banner(settings: Settings, boot: Bootstrapped) -> None:
    """Show the first admin key once, where a person starting Vigil will see it.

    A key the operator supplied (VIGIL_BOOTSTRAP_KEY) is never printed: they have
    it already, and a log collector should not get it too.
    """
    url = settings.base_url
    line = "=" * 72
    if settings.bootstrap_key:
        print(
            f"\n{line}\n  Vigil created organization 'default' with the admin key given in "
            f"VIGIL_BOOTSTRAP_KEY.\n{line}\n",
            file=sys.stdout,
            flush=True,
        )
        return
    print(
        f"\n{line}\n"
        f"  Vigil created organization 'default' and its admin API key.\n"
        f"  This key is shown ONCE; store it now:\n\n"
        f"    {boot.key}\n\n"
        f"  Try:  curl -H 'Authorization: Bearer {boot.key}' {url}/api/monitors\n"
        f"  Open: {url}/ (start page){_page_line(url, boot)}\n"
        f"{line}\n",
        file=sys.stdout,
        flush=True,
    )


def _page_line(url: str, boot: Bootstrapped) -> str:
    return f" and {url}/status/{boot.status_page_slug}" if boot.status_page_slug else ""


async def serve(
    settings: Settings,
    *,
    api: bool,
    regions: list[str],
    bootstrap: bool,
    dispatcher: bool = False,
) -> None:
    """Run the API, one worker per region and the dispatcher until SIGINT/SIGTERM."""
    from workers.worker import Worker

    if not api:
        # With the API, /metrics is one of its routes.
        serve_metrics(settings.metrics_host, settings.metrics_port)
    store = Store(settings.database_url)
    clock = SystemClock()
    workers: list[Worker] = []
    alerts: Dispatcher | None = None
    duties: AsyncIOScheduler | None = None
    try:
        if bootstrap:
            boot = await _bootstrap(store, settings, clock)
            if boot is not None:
                print_banner(settings, boot)
        server: asyncio.Task[None] | None = None
        if api:
            app = create_app(settings, store=store, clock=clock)
            prepare_app(app)
            config = uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level=settings.log_level,
                # uvicorn's lines go through the process's handler (text or JSON).
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
            )
            uv = _Server(config)
            server = asyncio.create_task(uv.serve())
            # Workers start once the API listens, so the demo monitor's first check
            # (which targets the API) finds it up.
            while not uv.started and not server.done():  # noqa: ASYNC110 - uvicorn has no event
                await asyncio.sleep(0.05)
        for region in regions:
            worker = Worker(
                store,
                settings,
                region=region,
                concurrency=settings.worker_concurrency,
                on_batch=Evaluator(clock),
            )
            await worker.start()
            workers.append(worker)
        log.info("workers running for regions: %s", ", ".join(regions) or "none")
        if dispatcher:
            alerts = Dispatcher(store, settings, clock=clock, lease_s=settings.dispatch_lease_s)
            await alerts.start()
            duties = AsyncIOScheduler()
            duties.add_job(
                calmly(run_alert_duties, OutageLog(log, "alert duties")),
                IntervalTrigger(seconds=settings.housekeeping_every_s, jitter=1),
                args=[store],
                id="alert-duties",
                max_instances=1,
                coalesce=True,
            )
            duties.add_job(
                calmly(_retention, OutageLog(log, "retention")),
                IntervalTrigger(seconds=RETENTION_EVERY_S, jitter=5),
                args=[store, settings.result_retention_days],
                id="retention",
                max_instances=1,
                coalesce=True,
            )
            duties.add_job(
                calmly(run_page_duties, OutageLog(log, "status page duties")),
                IntervalTrigger(seconds=settings.housekeeping_every_s, jitter=1),
                args=[store, settings],
                id="status-page-duties",
                max_instances=1,
                coalesce=True,
            )
            duties.add_job(
                calmly(run_ai_duties, OutageLog(log, "AI duties")),
                IntervalTrigger(seconds=settings.housekeeping_every_s, jitter=1),
                args=[store],
                id="ai-duties",
                max_instances=1,
                coalesce=True,
            )
            duties.add_job(
                calmly(sweep_missed, OutageLog(log, "heartbeat sweep")),
                IntervalTrigger(seconds=1),
                args=[store],
                kwargs={"clock": clock},
                id="heartbeat-sweep",
                max_instances=1,
                coalesce=True,
            )
            duties.start()
        settle_heap()
        if server is not None:
            await server
        else:
            await _until_signalled()
    finally:
        if duties is not None:
            await _stop_duties(duties, grace_s=settings.shutdown_grace_s)
        for worker in workers:
            await worker.stop()
        if alerts is not None:
            await alerts.stop(grace_s=settings.shutdown_grace_s)
        try:
            await asyncio.wait_for(store.close(), timeout=10)
        except TimeoutError:
            log.warning("the store's connections did not close within 10 s; exiting anyway")


def settle_heap() -> None:
    """Once a process has started: collect, then leave everything alive out of the
    collector's later passes (``gc.freeze``). A started process holds about a million
    objects (routes, schemas, mappers, templates) that every full pass would walk
    again: every few renderings of a big status page, 140 ms each time."""
    gc.collect()
    gc.freeze()


class _Server(uvicorn.Server):
    """uvicorn, minus re-raising the SIGTERM it handled: a clean rolling restart exits 0
    (uvicorn would end the process by the signal, status 143, after shutting down)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def calmly(
    duty: Callable[..., Awaitable[object]], outage: OutageLog
) -> Callable[..., Awaitable[None]]:
    """A periodic duty whose failures go to ``outage`` (APScheduler would log a
    traceback for each)."""

    async def run(*args: Any, **kwargs: Any) -> None:
        task = asyncio.current_task()
        if task is not None:
            _DUTIES_RUNNING.add(task)
        try:
            await duty(*args, **kwargs)
        except Exception as exc:
            outage.failed(exc)
        else:
            outage.ok()
        finally:
            if task is not None:
                _DUTIES_RUNNING.discard(task)

    return run


# Duty runs under way: a stop lets them end rather than cancelling one halfway
# through opening a store connection (an aiosqlite connection cancelled there
# could hold the process's exit for good).
_DUTIES_RUNNING: set[asyncio.Task[Any]] = set()


async def _stop_duties(duties: AsyncIOScheduler, *, grace_s: float) -> None:
    duties.pause()
    if _DUTIES_RUNNING:
        await asyncio.wait(set(_DUTIES_RUNNING), timeout=grace_s)
    duties.shutdown(wait=False)


async def _bootstrap(store: Store, settings: Settings, clock: SystemClock) -> Bootstrapped | None:
    return await bootstrap(store, settings, now=clock.now())


async def _until_signalled() -> None:
    """Wait for SIGINT or SIGTERM (uvicorn does this itself when the API runs)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
