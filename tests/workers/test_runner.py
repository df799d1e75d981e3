from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from checks.base import MonitorSpec
from tests.servers.http import HttpServer
from workers.claim import ClaimedRun
from workers.context import build_context
from workers.runner import HostLimiter, Runner, target_host


@pytest.mark.parametrize(
    ("url", "host"),
    [
        pytest.param("https://Example.com:8443/health", "example.com", id="url"),
        pytest.param("db.internal:5432", "db.internal", id="host-port"),
        pytest.param("[::1]:53", "::1", id="ipv6-port"),
        pytest.param("10.0.0.1", "10.0.0.1", id="bare"),
    ],
)
def test_target_host_names_the_host(url: str, host: str) -> None:
    assert target_host(url) == host


async def test_host_limiter_caps_checks_per_host() -> None:
    limiter = HostLimiter(3)
    gate = asyncio.Event()
    full = asyncio.Event()
    inside = 0
    most = 0

    async def check(host: str) -> None:
        nonlocal inside, most
        async with limiter.hold(host):
            inside += 1
            most = max(most, inside)
            if inside == 4:  # three on host a, one on host b
                full.set()
            await gate.wait()
            inside -= 1

    tasks = [asyncio.create_task(check("a")) for _ in range(10)]
    other = asyncio.create_task(check("b"))
    async with asyncio.timeout(5):
        await full.wait()
    gate.set()
    await asyncio.gather(*tasks, other)
    assert most == 4


async def test_runner_reports_a_check_bug_as_down_with_its_cause() -> None:
    runner = Runner(build_context(environ={}), concurrency=4, worker_id="w1")
    spec = MonitorSpec(id="mon_1", name="x", type="GOPHER", url="gopher://127.0.0.1/")
    due = datetime.now(UTC)

    item = await runner.run(ClaimedRun(spec, "local", due, due))

    assert item.result.status == "DOWN"
    assert item.result.error == (
        "Internal error while running the check: LookupError: no check runs monitors of type GOPHER"
    )
    assert item.result.details["scheduledAt"] == due.isoformat()
    assert item.worker_id == "w1"


def test_build_context_reads_nameservers_and_rejects_a_missing_ca_file() -> None:
    ctx = build_context(environ={"VIGIL_DNS_NAMESERVERS": "127.0.0.1:5353, ::1"})
    assert ctx.nameservers == ("127.0.0.1:5353", "::1")
    with pytest.raises(ValueError, match=r"VIGIL_EXTRA_CA_FILE='/nonexistent\.pem'"):
        build_context(environ={"VIGIL_EXTRA_CA_FILE": "/nonexistent.pem"})


async def test_runner_masks_the_monitors_secrets_a_response_echoes() -> None:
    token = "Bearer tok_0123456789abcdef"
    password = "pa55word-9876"
    runner = Runner(build_context(environ={}), concurrency=4, worker_id="w1")
    due = datetime.now(UTC)
    async with HttpServer() as server:
        url = server.url("/echo").replace("http://", f"http://bot:{password}@")
        spec = MonitorSpec(
            id="mon_1",
            name="echo",
            type="HTTP",
            url=url,
            expected_keyword="no such text",  # fails, so the body is kept as evidence
            config={"headers": {"Authorization": token}},
            trusted=True,
        )
        item = await runner.run(ClaimedRun(spec, "local", due, due))
    assert item.result.status == "DOWN"
    assert server.requests[0].headers["authorization"] == token  # the real one was sent
    kept = json.dumps(item.result.details) + str(item.result.error)
    assert token not in kept and "0123456789abcdef" not in kept
    assert "\u2026cdef" in item.result.details["body"]
