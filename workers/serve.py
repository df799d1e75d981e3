"""The long-running parts of ``vigil run`` and ``vigil api`` in one event loop."""

from __future__ import annotations

import asyncio
import logging
import sys

import uvicorn

from api.main import create_app
from store.bootstrap import Bootstrapped, bootstrap
from store.clock import SystemClock
from store.config import Settings
from store.db import Store

log = logging.getLogger("vigil")


def print_banner(settings: Settings, boot: Bootstrapped) -> None:
    """Show the first admin key once, where a person starting Vigil will see it."""
    url = settings.base_url
    line = "=" * 72
    print(
        f"\n{line}\n"
        f"  Vigil created organization 'default' and its admin API key.\n"
        f"  This key is shown ONCE; store it now:\n\n"
        f"    {boot.key}\n\n"
        f"  Try:  curl -H 'Authorization: Bearer {boot.key}' {url}/api/monitors\n"
        f"{line}\n",
        file=sys.stdout,
        flush=True,
    )


async def serve(settings: Settings, *, api: bool, regions: list[str], bootstrap: bool) -> None:
    """Run the API (if ``api``) and one worker per region until SIGINT/SIGTERM."""
    from workers.worker import Worker

    store = Store(settings.database_url)
    clock = SystemClock()
    workers: list[Worker] = []
    try:
        if bootstrap:
            boot = await _bootstrap(store, settings, clock)
            if boot is not None:
                print_banner(settings, boot)
        server: asyncio.Task[None] | None = None
        if api:
            app = create_app(settings, store=store, clock=clock)
            config = uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level=settings.log_level,
                access_log=False,
            )
            uv = uvicorn.Server(config)
            server = asyncio.create_task(uv.serve())
            # Workers start once the API listens, so the demo monitor's first check
            # (which targets the API) finds it up.
            while not uv.started and not server.done():
                await asyncio.sleep(0.05)
        for region in regions:
            worker = Worker(
                store, settings, region=region, concurrency=settings.worker_concurrency
            )
            await worker.start()
            workers.append(worker)
        log.info("workers running for regions: %s", ", ".join(regions) or "none")
        if server is not None:
            await server
        else:
            await asyncio.Event().wait()
    finally:
        for worker in workers:
            await worker.stop()
        await store.close()


async def _bootstrap(store: Store, settings: Settings, clock: SystemClock) -> Bootstrapped | None:
    return await bootstrap(store, settings, now=clock.now())
