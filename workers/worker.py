"""A worker: claims its region's due checks ahead, starts each at its slot, records results.

APScheduler drives the periodic duties (claim tick, registry heartbeat, pruning of
dead workers). Each claimed check then starts on its own event-loop timer at its
exact slot, so lateness does not depend on the tick.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from importlib import metadata

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.evaluator import Evaluator
from alerting.operator import alert_sick_worker
from checks.base import CheckContext
from checks.target import HostPort
from store.artifacts import saver_for
from store.clock import Clock, SystemClock
from store.config import Settings
from store.db import Store
from store.logcontext import bind_ids
from store.outage import OutageLog
from store.results import PROBE_UNHEALTHY, OnBatch, RecordedResult
from store.workers_registry import (
    HEARTBEAT_EVERY_S,
    STALE_AFTER_S,
    has_healthy_peer,
    prune_stale_workers,
    register_worker,
    set_worker_health,
    touch_worker,
    unregister_worker,
)
from telemetry.metrics import CHECKS_PENDING, CHECKS_RUNNING, CLAIM_BATCH, CLAIM_DURATION
from telemetry.serve import serve_metrics
from workers import canary
from workers.claim import ClaimedRun, claim_due, release
from workers.context import build_context
from workers.logs import configure_logging
from workers.results import ResultWriter
from workers.runner import Runner

log = logging.getLogger(__name__)

RunKey = tuple[str, datetime]


def _version() -> str:
    try:
        return metadata.version("vigil")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _per_host_limit() -> int:
    raw = os.environ.get("VIGIL_WORKER_PER_HOST", "8")
    try:
        return max(1, int(raw))
    except ValueError:
        raise ValueError(
            f"VIGIL_WORKER_PER_HOST={raw!r} is not a whole number; set it to the most "
            "checks one worker may run at once against one host (default 8)"
        ) from None


class Worker:
    """Runs one region's checks in this process until ``stop``."""

    claim_every_s = 0.5
    lookahead_s = 1.5
    claim_batch = 500
    prune_every_s = 30.0

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        region: str,
        concurrency: int = 256,
        clock: Clock | None = None,
        per_host: int | None = None,
        on_batch: OnBatch | None = None,
        context: CheckContext | None = None,
        canary_targets: Sequence[HostPort] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.region = region
        self.clock = clock or SystemClock()
        host = socket.gethostname()
        self.id = f"{region[:20]}/{host[:24]}/{os.getpid()}/{secrets.token_hex(3)}"
        self.runner = Runner(
            context or build_context(self.clock),
            concurrency=concurrency,
            per_host=per_host or _per_host_limit(),
            worker_id=self.id,
            artifacts=lambda monitor_id: saver_for(store, monitor_id, self.clock),
        )
        self.writer = ResultWriter(store, on_batch=on_batch)
        self._outage = OutageLog(log, f"worker {self.id}")
        # Claimed runs waiting for their slot, and runs under way.
        self._timers: dict[RunKey, tuple[ClaimedRun, asyncio.TimerHandle]] = {}
        self._tasks: dict[RunKey, tuple[ClaimedRun, asyncio.Task[None]]] = {}
        self._started: set[RunKey] = set()
        # Claim no more than this worker can start soon: the rest stays for its peers.
        self._max_pending = concurrency * 4
        self._claim_lock = asyncio.Lock()
        self._stopping = False
        self._scheduler: AsyncIOScheduler | None = None
        self._host = host
        self.canary_targets = tuple(
            canary.targets_for(region) if canary_targets is None else canary_targets
        )
        # Why the canary failed, while it does; None while this worker is healthy.
        self.canary_error: str | None = None

    @property
    def pending(self) -> int:
        """Runs claimed and not yet finished."""
        return len(self._timers) + len(self._tasks)

    async def _register(self, session: AsyncSession) -> None:
        await register_worker(
            session,
            self.id,
            region=self.region,
            host=self._host,
            pid=os.getpid(),
            version=_version(),
            now=self.clock.now(),
        )

    async def start(self) -> None:
        """Register, then start claiming and running."""
        async with self.store.transaction() as session:
            await self._register(session)
        self.writer.start()
        scheduler = AsyncIOScheduler(timezone="UTC")
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        scheduler.add_job(self.claim, "interval", seconds=self.claim_every_s, **common)
        scheduler.add_job(self._heartbeat, "interval", seconds=HEARTBEAT_EVERY_S, **common)
        scheduler.add_job(self._prune, "interval", seconds=self.prune_every_s, **common)
        if self.canary_targets:
            scheduler.add_job(self.check_canary, "interval", seconds=canary.every_s(), **common)
        # Jobs run in a context naming this worker (several may share a process).
        context = contextvars.copy_context()
        context.run(bind_ids, workerId=self.id)
        context.run(scheduler.start)
        self._scheduler = scheduler
        if self.canary_targets:
            await self.check_canary()
        await self.claim()
        log.info("worker %s started for region %s", self.id, self.region)

    async def claim(self) -> int:
        """Claim what falls due within the lookahead and set a timer for each run."""
        claimed = 0
        async with self._claim_lock:
            if self.canary_error is not None and await self._peer_can_take_over():
                return 0
            while not self._stopping and self.pending < self._max_pending:
                now = self.clock.now()
                limit = min(self.claim_batch, self._max_pending - self.pending)
                began = time.perf_counter()
                try:
                    async with self.store.transaction() as session:
                        runs = await claim_due(
                            session,
                            self.region,
                            worker_id=self.id,
                            now=now,
                            horizon=now + timedelta(seconds=self.lookahead_s),
                            limit=limit,
                            skip_locked=self.store.is_postgres,
                        )
                except Exception as exc:
                    self._outage.failed(exc)
                    break
                CLAIM_DURATION.labels(self.region).observe(time.perf_counter() - began)
                CLAIM_BATCH.labels(self.region).observe(len(runs))
                if self._outage.ok():
                    # Show this worker as alive again at once, not at its next beat.
                    await self._heartbeat()
                for run in runs:
                    self._schedule(run)
                claimed += len(runs)
                log.debug("claimed %d runs in region %s", len(runs), self.region)
                if len(runs) < limit:
                    break
            CHECKS_PENDING.labels(self.region).set(len(self._timers))
            CHECKS_RUNNING.labels(self.region).set(len(self._tasks))
        return claimed

    def _schedule(self, run: ClaimedRun) -> None:
        loop = asyncio.get_running_loop()
        delay = (run.due_at - self.clock.now()).total_seconds()
        key = (run.monitor.id, run.due_at)
        handle = loop.call_at(loop.time() + max(0.0, delay), self._begin, key)
        self._timers[key] = (run, handle)

    def _begin(self, key: RunKey) -> None:
        run, _ = self._timers.pop(key)
        # The check's log lines name this worker, the monitor and the slot.
        context = contextvars.copy_context()
        context.run(
            bind_ids, workerId=self.id, monitorId=run.monitor.id, checkSlot=run.due_at.isoformat()
        )
        task = asyncio.create_task(self._execute(key, run), context=context)
        self._tasks[key] = (run, task)

    async def _execute(self, key: RunKey, run: ClaimedRun) -> None:
        try:
            item = await self.runner.run(run, on_start=lambda: self._started.add(key))
            if self.canary_error is not None:
                # Stored for the record, but a sick probe's failure is no evidence.
                item.result.details[PROBE_UNHEALTHY] = {
                    "workerId": self.id,
                    "canaryError": self.canary_error,
                }
            self.writer.add(item)
        finally:
            self._tasks.pop(key, None)
            self._started.discard(key)

    async def _heartbeat(self) -> None:
        try:
            async with self.store.transaction() as session:
                if not await touch_worker(session, self.id, now=self.clock.now()):
                    await self._register(session)  # pruned while this worker stalled
        except Exception as exc:
            self._outage.failed(exc)

    async def check_canary(self) -> str | None:
        """Probe this worker's own connectivity and record it; alerts once when it turns sick."""
        error = await canary.probe(self.canary_targets)
        if (error is None) != (self.canary_error is None):
            log.warning("worker %s canary: %s", self.id, error or "healthy again")
        self.canary_error = error
        try:
            async with self.store.transaction() as session:
                now = self.clock.now()
                if await set_worker_health(session, self.id, error=error, now=now) and error:
                    await alert_sick_worker(
                        session, worker_id=self.id, region=self.region, error=error, now=now
                    )
        except Exception:
            log.warning("worker %s could not record its canary", self.id, exc_info=True)
        return error

    async def _peer_can_take_over(self) -> bool:
        try:
            async with self.store.transaction() as session:
                return await has_healthy_peer(
                    session, self.id, region=self.region, now=self.clock.now()
                )
        except Exception:
            log.warning("worker %s could not look for healthy peers", self.id, exc_info=True)
            return False

    async def _prune(self) -> None:
        try:
            async with self.store.transaction() as session:
                gone = await prune_stale_workers(session, now=self.clock.now())
            if gone:
                log.info("pruned %d workers not seen for %g s", gone, STALE_AFTER_S)
        except Exception as exc:
            self._outage.failed(exc)

    async def stop(self, *, deadline_s: float = 10.0) -> None:
        """Stop claiming, let started checks finish (up to the deadline), write
        their results, hand back the rest, and unregister."""
        self._stopping = True
        if self._scheduler is not None:
            # Pause first and let a claim under way finish: shutting down cancels
            # running jobs, which APScheduler logs as errors.
            self._scheduler.pause()
        async with self._claim_lock:
            pass
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        unstarted: list[ClaimedRun] = []
        for run, handle in self._timers.values():
            handle.cancel()
            unstarted.append(run)
        self._timers.clear()
        running: list[tuple[ClaimedRun, asyncio.Task[None]]] = []
        for key, (run, task) in list(self._tasks.items()):
            if key in self._started:
                running.append((run, task))
            else:
                task.cancel()
                unstarted.append(run)
        if running:
            await asyncio.wait([t for _, t in running], timeout=deadline_s)
        unfinished = [run for run, task in running if not task.done()]
        leftover = [task for _, task in self._tasks.values()]
        for task in leftover:
            task.cancel()
        if leftover:
            await asyncio.gather(*leftover, return_exceptions=True)
        if unfinished:
            log.warning("stopped %d checks that overran the stop deadline", len(unfinished))
        await self.writer.close()
        await _close_browser()
        async with self.store.transaction() as session:
            await release(session, unstarted + unfinished, worker_id=self.id)
            await unregister_worker(session, self.id)
        log.info(
            "worker %s stopped: %d results written, %d runs handed back",
            self.id,
            self.writer.written,
            len(unstarted) + len(unfinished),
        )


async def _close_browser() -> None:
    """Close the browser this process launched for BROWSER checks, if it launched one."""
    browser = sys.modules.get("checks.browser")
    if browser is not None:
        await browser.close_default_pool()


async def serve_worker(settings: Settings, *, region: str, concurrency: int) -> None:
    """Run one worker until SIGTERM or SIGINT, then stop it cleanly and return."""
    configure_logging(settings.log_level, settings.log_format)
    serve_metrics(settings.metrics_host, settings.metrics_port)
    store = Store(settings.database_url)
    clock = SystemClock()
    worker = Worker(
        store,
        settings,
        region=region,
        concurrency=concurrency,
        clock=clock,
        on_batch=Evaluator(clock),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await worker.start()
        await stop.wait()
        log.info("worker %s: stop requested", worker.id)
        await worker.stop()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await store.close()


__all__ = ["RecordedResult", "Worker", "serve_worker"]
