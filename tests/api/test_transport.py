"""What a real HTTP server sees: bodies that never arrive, clients that leave, log lines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from api.main import create_app
from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant, make_settings

BODY_TIMEOUT_S = 0.5


@pytest.fixture
async def server(store: Store, clock: FrozenClock) -> AsyncIterator[tuple[str, int]]:
    """The API under uvicorn on a free loopback port, with a short body timeout."""
    settings = make_settings(body_timeout_s=BODY_TIMEOUT_S)
    app = create_app(settings, store=store, clock=clock)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="info", lifespan="off")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    async with asyncio.timeout(10):
        while not uv.started:  # noqa: ASYNC110 - uvicorn has no started event
            await asyncio.sleep(0.01)
    port = uv.servers[0].sockets[0].getsockname()[1]
    yield "127.0.0.1", port
    uv.should_exit = True
    await task


def _request(tenant: Tenant, *, announced: int, sent: bytes) -> bytes:
    head = (
        "POST /api/monitors HTTP/1.1\r\nHost: vigil.test\r\n"
        f"Authorization: Bearer {tenant.key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {announced}\r\n\r\n"
    )
    return head.encode() + sent


async def test_a_body_shorter_than_its_content_length_is_answered_408_in_time(
    server: tuple[str, int], tenant: Tenant
) -> None:
    reader, writer = await asyncio.open_connection(*server)
    writer.write(_request(tenant, announced=100, sent=b'{"name":'))
    await writer.drain()
    async with asyncio.timeout(BODY_TIMEOUT_S + 10):
        status_line = await reader.readline()
        rest = await reader.read()  # Connection: close
    writer.close()

    assert status_line.startswith(b"HTTP/1.1 408"), status_line
    assert b'"code":"request_timeout"' in rest
    assert b"Content-Length" in rest


async def test_a_complete_body_sent_slowly_within_the_timeout_is_served(
    server: tuple[str, int], tenant: Tenant
) -> None:
    body = b'{"name":"n","type":"HTTP","url":"https://example.com","interval":300}'
    reader, writer = await asyncio.open_connection(*server)
    writer.write(_request(tenant, announced=len(body), sent=body[:10]))
    await writer.drain()
    await asyncio.sleep(BODY_TIMEOUT_S / 5)  # a pause well inside the timeout
    writer.write(body[10:])
    await writer.drain()
    async with asyncio.timeout(10):
        status_line = await reader.readline()
    writer.close()

    assert status_line.startswith(b"HTTP/1.1 201"), status_line


async def test_a_client_that_leaves_mid_body_is_logged_quietly(
    server: tuple[str, int], tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for path in ("/api/monitors", "/api/heartbeat/hb_x"):
        _, writer = await asyncio.open_connection(*server)
        request = _request(tenant, announced=100, sent=b'{"na')
        writer.write(request.replace(b"/api/monitors", path.encode(), 1))
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    async with asyncio.timeout(10):
        while sum("client disconnected" in r.getMessage() for r in caplog.records) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert all(r.exc_info is None for r in caplog.records)


async def test_an_encoded_newline_in_the_path_does_not_forge_a_log_line(
    client: httpx.AsyncClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vigil.access")
    forged = "x%0A2026-03-01 12:00:00 INFO vigil.access: GET /admin 200"

    response = await client.get(f"/api/monitors/{forged}", headers=tenant.headers)

    assert response.status_code == 404
    (line,) = [r.getMessage() for r in caplog.records if r.name == "vigil.access"]
    assert "\n" not in line and "\r" not in line
    assert "/api/monitors/x\\x0a2026-03-01 12:00:00 INFO" in line
