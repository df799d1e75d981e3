"""Schemathesis over /openapi.json: every check, every phase, on a real server.

Bounded (``MAX_EXAMPLES`` per operation, a fixed seed) so it stays within minutes.
``POST /api/alert-channels/{id}/test`` is left out: it would deliver to the
fuzzer's URLs, and tests reach only loopback.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from api.main import create_app
from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import make_settings, make_tenant
from tests.api.described import DESCRIBED

MAX_EXAMPLES = 5
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
async def base_url(database_url: str) -> AsyncIterator[str]:
    """The API under uvicorn in a thread of its own, with its own store and event loop."""
    settings = make_settings(
        database_url=database_url,
        # The fuzzer sends bad keys and tokens by design; do not lock it out.
        auth_failures_per_minute=10**6,
        unknown_tokens_per_minute=10**6,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    async with asyncio.timeout(60):
        while not server.started:  # noqa: ASYNC110 - uvicorn has no started event
            await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.to_thread(thread.join, 30)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_schemathesis_finds_no_failure(
    base_url: str, store: Store, clock: FrozenClock, tmp_path: Path
) -> None:
    tenant = await make_tenant(store, clock, "fuzz")
    report = tmp_path / "report.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "1",
        "--header",
        f"Authorization: Bearer {tenant.key}",
        *(
            arg
            for op in sorted(DESCRIBED - {"alert_channels_send_test"})
            for arg in ("--include-operation-id", op)
        ),
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    result = json.loads(report.read_text())
    figures = {
        "operations": result["operations"]["tested"],
        "cases": result["test_cases"]["generated"],
        "failures": result["test_cases"]["with_failures"],
        "errors": result["test_cases"]["errored"],
    }
    print("schemathesis:", json.dumps(figures))

    assert result["failures"] == [], text[-6000:]
    assert result["errors"] == [], text[-6000:]
    assert figures["operations"] == 45
    assert process.returncode == 0, text[-6000:]
