"""A live Vigil API (uvicorn on a loopback port) for browser tests of status pages."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn

from api.main import create_app
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from tests.api.conftest import make_settings


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture
def page_settings() -> Settings:
    # No micro-cache: each request renders from the store as of the frozen clock.
    return make_settings(status_page_fresh_s=0, status_page_timeout_s=60)


@pytest.fixture
async def live(
    store: Store, clock: FrozenClock, page_settings: Settings
) -> AsyncIterator[LiveServer]:
    app = create_app(page_settings, store=store, clock=clock)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    yield LiveServer(url=f"http://127.0.0.1:{port}", settings=page_settings)
    server.should_exit = True
    await task
    sock.close()
