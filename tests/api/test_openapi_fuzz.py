"""Schemathesis over /openapi.json: every operation, every check, every phase, on a real server.

Bounded (``MAX_EXAMPLES`` per operation, a fixed seed) so it stays within minutes.
``POST /api/alert-channels/{id}/test`` is left out: it would deliver to the
fuzzer's URLs, and tests reach only loopback. Everything else the app reaches is
on loopback too: DNS (domain verification) asks a loopback server, RevenueCat is
a loopback fake, and the webhook's Authorization is the fuzzer's own header so
that its events are read, not refused.

What the API cannot create itself (an incident, a queued alert, a subscriber's
token...) is seeded first (``fuzz_seed``) and bound to the operations that use it;
``schemathesis_hooks`` keeps the seeds and the fuzzer's own key from being deleted.
Run time, both stores, on 2 cores: about 2-3 minutes (the coverage phase is most of it).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.main import create_app
from store.clock import FrozenClock
from store.db import Store
from tests.api import fuzz_seed
from tests.api.conftest import Tenant, make_settings, make_tenant
from tests.servers.dns import DnsServer
from tests.servers.revenuecat import RevenueCatServer

MAX_EXAMPLES = 3
CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
# Left out, each for its stated reason (see the module's docstring).
EXCLUDED = frozenset({"alert_channels_send_test"})


@dataclass
class Target:
    base_url: str
    tenant: Tenant
    seeds: fuzz_seed.Seeds


@pytest.fixture
async def target(database_url: str, store: Store, clock: FrozenClock) -> AsyncIterator[Target]:
    """The API under uvicorn in a thread of its own, with its own store and event loop."""
    tenant = await make_tenant(store, clock, "fuzz")
    async with RevenueCatServer(secret_key="sk_fuzz") as revenuecat:
        with DnsServer({}) as dns_server:
            settings = make_settings(
                database_url=database_url,
                # The fuzzer sends bad keys and tokens by design; do not lock it out.
                auth_failures_per_minute=10**6,
                unknown_tokens_per_minute=10**6,
                VIGIL_DNS_NAMESERVERS=dns_server.address,
                revenuecat_api_url=revenuecat.api_url,
                revenuecat_secret_key="sk_fuzz",
                revenuecat_public_key="pk_fuzz",
                revenuecat_webhook_auth=f"Bearer {tenant.key}",
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
            base_url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base_url) as client:
                seeds = await fuzz_seed.seed(client, store, tenant)
            yield Target(base_url, tenant, seeds)
            server.should_exit = True
            await asyncio.to_thread(thread.join, 30)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_schemathesis_finds_no_failure(target: Target, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=target.base_url) as client:
        document = (await client.get("/openapi.json")).json()
        keys = await client.get("/api/api-keys", headers=target.tenant.headers)
    [own_key] = keys.json()["data"]
    operations = {op["operationId"] for ops in document["paths"].values() for op in ops.values()}
    report = tmp_path / "report.json"
    config = tmp_path / "schemathesis.toml"
    config.write_text(fuzz_seed.config(CONFIG.read_text(), target.seeds))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{target.base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "1",
        "--header",
        f"Authorization: Bearer {target.tenant.key}",
        *(arg for op in sorted(EXCLUDED) for arg in ("--exclude-operation-id", op)),
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
        cwd=tmp_path,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(HOOKS),
            **fuzz_seed.hook_environment(target.seeds, own_key["id"], document),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    (tmp_path / "output.txt").write_text(text)  # the whole run, for whoever reads a failure
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
    assert operations >= EXCLUDED
    assert figures["operations"] == len(operations - EXCLUDED)
    assert process.returncode == 0, text[-6000:]
