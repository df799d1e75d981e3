"""An outage end to end: real worker and dispatcher processes, real receivers on loopback.

The target goes down, the worker confirms it after the threshold, one incident
opens, and the email, Slack, signed webhook and PagerDuty receivers each get one
DOWN alert; the target recovers and each gets exactly one recovery, PagerDuty's
resolve sharing the trigger's dedup key.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from alerting.channels.webhook import verify_signature
from store.clock import FrozenClock
from store.db import Store
from store.models import CheckResult, Incident, monitor_num
from tests.alerting.helpers import make_channel, make_monitor, make_org
from tests.servers.receivers import HttpReceiver, SmtpReceiver
from tests.servers.tiny_http import TinyHTTPServer

SECRET = "whsec_e2e"
REGION = "us-east-1"


@contextmanager
def vigil(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A ``vigil`` subprocess, stopped with SIGTERM (and checked to exit 0) afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert code == 0, (proc.stderr.read() if proc.stderr else b"").decode()[-2000:]


async def until(predicate: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.mark.postgres_only
async def test_outage_alerts_every_channel_once_and_recovery_once(
    store: Store, clock: FrozenClock, database_url: str
) -> None:
    org = await make_org(store, clock)
    async with (
        TinyHTTPServer() as target,
        HttpReceiver(default=200) as hooks,
        SmtpReceiver() as smtp,
    ):
        await make_channel(
            store, clock, org, type="EMAIL", config={"recipients": ["ops@example.com"]}
        )
        await make_channel(
            store, clock, org, type="SLACK", config={"webhookUrl": hooks.url_for("/slack")}
        )
        await make_channel(
            store, clock, org, config={"url": hooks.url_for("/hook"), "secret": SECRET}
        )
        await make_channel(store, clock, org, type="PAGERDUTY", config={"routingKey": "rk_e2e"})
        monitor = await make_monitor(
            store, clock, org, url=target.url, interval_s=2, timeout_s=2, regions=[REGION]
        )
        env = {
            "VIGIL_DATABASE_URL": database_url,
            "VIGIL_SMTP_HOST": "127.0.0.1",
            "VIGIL_SMTP_PORT": str(smtp.port),
            "VIGIL_PAGERDUTY_EVENTS_URL": hooks.url_for("/pd"),
            "VIGIL_ALERT_RETRY_BASE_S": "0.5",
            "VIGIL_LOG_LEVEL": "warning",
        }

        async def results(status: str) -> int:
            async with store.transaction() as session:
                n = await session.scalar(
                    select(func.count()).where(
                        CheckResult.monitor_num == monitor_num(monitor.id),
                        CheckResult.status == status,
                    )
                )
            return int(n or 0)

        async def incidents() -> list[Incident]:
            async with store.transaction() as session:
                rows = await session.scalars(
                    select(Incident).where(Incident.monitor_id == monitor.id)
                )
                return list(rows)

        def by_path(path: str) -> list[dict[str, object]]:
            return [r.json() for r in hooks.requests if r.path == path]

        with vigil("worker", "--region", REGION, env=env), vigil("dispatcher", env=env):
            await until(lambda: _ge(results("UP"), 2), within=30, what="two UP results")

            target.status = 503
            await until(_has(incidents), within=30, what="an incident to open")
            await hooks.wait_for(3, timeout=30)  # Slack, webhook, PagerDuty
            await smtp.wait_for(1, timeout=30)

            target.status = 200

            async def resolved() -> bool:
                found = await incidents()
                return bool(found) and not found[0].is_active

            await until(resolved, within=30, what="the incident to resolve")
            await hooks.wait_for(6, timeout=30)
            await smtp.wait_for(2, timeout=30)
            ups_after = await results("UP")
            await until(
                lambda: _ge(results("UP"), ups_after + 2), within=30, what="more UP results"
            )

    (incident,) = await incidents()
    assert incident.cause == "Expected a 2xx status, got 503"

    (down_mail, up_mail) = smtp.messages
    assert down_mail.subject == f"[DOWN] Production API ({monitor.url})"
    assert up_mail.subject.startswith("[RECOVERED] Production API")
    assert "Expected a 2xx status, got 503" in down_mail.message.get_body().get_content()

    slack = by_path("/slack")
    assert [m["text"] for m in slack] == [
        f"[DOWN] Production API ({monitor.url})",
        f"[RECOVERED] Production API ({monitor.url})",
    ]

    hooks_got = [r for r in hooks.requests if r.path == "/hook"]
    assert [r.json()["type"] for r in hooks_got] == ["monitor.down", "monitor.up"]
    for r in hooks_got:
        assert verify_signature(
            SECRET, r.header("X-Signature-Timestamp") or "", r.body, r.header("X-Signature") or ""
        )
    assert hooks_got[0].header("X-Event-Id") != hooks_got[1].header("X-Event-Id")

    pd = by_path("/pd")
    assert [m["event_action"] for m in pd] == ["trigger", "resolve"]
    assert pd[0]["dedup_key"] == pd[1]["dedup_key"] == f"vigil-{incident.id}"
    assert pd[0]["routing_key"] == "rk_e2e"
    assert len(hooks.requests) == 6 and len(smtp.messages) == 2  # nothing duplicated


async def _ge(count: Awaitable[int], floor: int) -> bool:
    return await count >= floor


def _has(fetch: Callable[[], Awaitable[list[Incident]]]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(await fetch())

    return check
