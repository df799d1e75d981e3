"""SIGTERM to ``vigil api`` (a rolling restart): requests in flight are finished and
stored, new connections are refused, and the process exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from store.db import Store
from store.models import Monitor
from store.orgs import create_org
from tests.faults.cluster import free_port


async def _wait(within_s: float, what: str, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + within_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.05)


def _spawn_api(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_sigterm_finishes_the_request_in_flight_and_exits_0(
    store: Store, database_url: str
) -> None:
    async with store.transaction() as session:
        _, key = await create_org(
            session,
            name="Acme",
            slug="acme",
            plan="ENTERPRISE",
            owner_email="o@acme.t",
            now=datetime.now(UTC),
            trusted=True,
        )
    port = free_port()
    env = {
        **os.environ,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_SHUTDOWN_GRACE_S": "10",
        "VIGIL_DEMO_MONITOR": "false",
    }
    proc = _spawn_api(env, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def listening() -> bool:
                try:
                    return (await client.get("/healthz")).status_code < 500
                except httpx.TransportError:
                    assert proc.poll() is None, "vigil api exited"
                    return False

            await _wait(60, "the API to listen", listening)

        body = json.dumps(
            {"name": "in flight", "type": "HTTP", "url": "https://example.com"}
        ).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                f"POST /api/monitors HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        # The server says "100 Continue" once the handler reads the body: from then on
        # the request is in its hands, and the body has not been sent yet.
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        assert interim.startswith(b"HTTP/1.1 100"), interim
        proc.send_signal(signal.SIGTERM)

        async def refusing_new_connections() -> bool:
            try:
                _, w = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return True
            w.close()
            return False

        await _wait(10, "the API to stop accepting connections", refusing_new_connections)
        writer.write(body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        writer.close()
        code = await asyncio.to_thread(proc.wait, 15)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read() if proc.stderr else ""
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n"), answer[:800]
    assert code == 0, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    async with store.sessions() as session:
        names = (await session.scalars(select(Monitor.name))).all()
    assert names == ["in flight"]
