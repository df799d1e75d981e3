"""Metrics: each documented metric appears on the process that runs its part, with
its Prometheus type, and moves when its event happens (scraped before and after)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from alerting.channels.base import AlertEvent
from alerting.outbox import enqueue
from api.main import create_app
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.models import Monitor
from telemetry.metrics import outcome_of
from tests.alerting.helpers import make_channel, make_monitor, make_org
from tests.api.conftest import make_tenant
from tests.servers.receivers import HttpReceiver
from tests.servers.tiny_http import TinyHTTPServer
from tests.workers.seed import add_monitors

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _parse(text: str) -> tuple[dict[str, str], Samples]:
    """Metric family name -> type, and (sample name, labels) -> value."""
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return types, samples


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _scrape(port: int) -> tuple[dict[str, str], Samples]:
    async with httpx.AsyncClient(timeout=5) as client:
        r = await client.get(f"http://127.0.0.1:{port}/metrics")
    r.raise_for_status()
    return _parse(r.text)


async def _until(check: Callable[[], Awaitable[bool]], *, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out after {within_s} s waiting for {what}"
        await asyncio.sleep(0.2)


@asynccontextmanager
async def _process(
    database_url: str, tmp_path: Path, *args: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    port = _free_port()
    log_path = tmp_path / f"{args[0]}.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "workers.cli", *args, "--metrics-port", str(port)),
            cwd=ROOT,
            env={**os.environ, "VIGIL_DATABASE_URL": database_url},
            stdout=log,
            stderr=log,
        )
    try:

        async def listening() -> bool:
            assert proc.returncode is None, log_path.read_text()
            try:
                await _scrape(port)
            except httpx.TransportError:
                return False
            return True

        await _until(listening, within_s=30, what=f"{args[0]} /metrics")
        yield proc, port
    finally:
        if proc.returncode is None:
            proc.terminate()
            async with asyncio.timeout(30):
                await proc.wait()


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.slow
async def test_worker_metrics_move_when_checks_run(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    async with TinyHTTPServer() as target:
        # Due at once: their first slot lies in the past.
        ids = await add_monitors(
            store, 3, url=target.url, now=datetime.now(UTC) - timedelta(minutes=2), interval_s=60
        )
        async with store.transaction() as session:
            await session.execute(
                update(Monitor).where(Monitor.id == ids[0]).values(metrics_labels=True)
            )
            labelled_name = await session.scalar(select(Monitor.name).where(Monitor.id == ids[0]))
        async with _process(database_url, tmp_path, "worker", "--region", "local") as (_, port):
            types, before = await _scrape(port)
            assert types["vigil_checks"] == "counter"
            for name in (
                "vigil_check_duration_seconds",
                "vigil_check_lateness_seconds",
                "vigil_claim_batch_size",
                "vigil_claim_duration_seconds",
                "vigil_result_batch_size",
                "vigil_result_write_duration_seconds",
            ):
                assert types[name] == "histogram", name
            assert types["vigil_checks_pending"] == "gauge"
            assert types["vigil_checks_running"] == "gauge"
            assert types["vigil_result_write_failures"] == "counter"
            up = {"type": "HTTP", "region": "local", "status": "UP"}

            async def three_checks_written() -> bool:
                _, now = await _scrape(port)
                return (
                    _value(now, "vigil_checks_total", **up) >= 3
                    and _value(now, "vigil_result_batch_size_sum") >= 3
                )

            await _until(three_checks_written, within_s=30, what="three checks counted")
            _, after = await _scrape(port)
    assert _value(before, "vigil_checks_total", **up) == 0
    assert _value(after, "vigil_check_duration_seconds_count", type="HTTP", region="local") >= 3
    assert _value(after, "vigil_check_lateness_seconds_count", region="local") >= 3
    assert _value(after, "vigil_claim_batch_size_sum", region="local") >= 3
    assert _value(after, "vigil_result_write_duration_seconds_count") >= 1
    assert _value(after, "vigil_result_write_failures_total") == 0
    # Only the monitor that opted in has series of its own.
    mine = {"monitor_id": ids[0], "monitor": str(labelled_name), "region": "local"}
    assert _value(after, "vigil_monitor_up", **mine) == 1
    assert _value(after, "vigil_monitor_checks_total", **mine, status="UP") >= 1
    assert _value(after, "vigil_monitor_check_duration_seconds", **mine) > 0
    labelled = {
        dict(labels).get("monitor_id") for name, labels in after if "monitor_id" in dict(labels)
    }
    assert labelled == {ids[0]}


@pytest.mark.slow
async def test_dispatcher_metrics_count_attempts_and_outbox(
    store: Store, clock: FrozenClock, database_url: str, tmp_path: Path
) -> None:
    async with HttpReceiver(default=200) as hooks:
        org = await make_org(store, clock)
        channel = await make_channel(
            store, clock, org, config={"url": hooks.url_for("/h"), "secret": "whsec_m"}
        )
        monitor = await make_monitor(store, clock, org)
        async with _process(database_url, tmp_path, "dispatcher") as (_, port):
            types, before = await _scrape(port)
            assert types["vigil_alert_delivery_attempts"] == "counter"
            assert types["vigil_alert_outbox"] == "gauge"
            assert types["vigil_alert_outbox_oldest_pending_seconds"] == "gauge"
            assert types["vigil_heartbeat_sweep_lag_seconds"] == "gauge"
            event = AlertEvent(
                id="evt_metrics1",
                type="monitor.down",
                monitor_id=monitor.id,
                monitor_name=monitor.name,
                monitor_url=monitor.url,
                occurred_at=clock.now(),
                cause="Connection refused",
            )
            async with store.transaction() as session:
                await enqueue(session, event, org_id=org, channel_ids=[channel], now=clock.now())
            delivered = {"channel_type": "WEBHOOK", "outcome": "delivered"}

            async def counted() -> bool:
                _, now = await _scrape(port)
                return (
                    _value(now, "vigil_alert_delivery_attempts_total", **delivered) == 1
                    and _value(now, "vigil_alert_outbox", status="delivered") == 1
                )

            # The outbox gauges are re-counted every 5 s.
            await _until(counted, within_s=30, what="one delivered attempt and outbox row")
    assert _value(before, "vigil_alert_delivery_attempts_total", **delivered) == 0
    assert len(hooks.requests) == 1


async def test_api_metrics_count_requests_by_route_template(
    store: Store, clock: FrozenClock
) -> None:
    app = create_app(Settings(), store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        tenant = await make_tenant(store, clock, "acme")
        route = "/api/monitors/{monitor_id}"

        async def scrape() -> Samples:
            r = await client.get("/metrics", headers=tenant.headers)
            return _parse(r.text)[1]

        before = await scrape()
        for _ in range(2):
            r = await client.get("/api/monitors/mon_missing", headers=tenant.headers)
            assert r.status_code == 404
        after = await scrape()
    key = {"method": "GET", "route": route, "status": "404"}
    assert (
        _value(after, "vigil_http_requests_total", **key)
        - _value(before, "vigil_http_requests_total", **key)
        == 2
    )
    assert (
        _value(after, "vigil_http_request_duration_seconds_count", method="GET", route=route) >= 2
    )


@pytest.mark.parametrize(
    ("ok", "permanent", "final", "label"),
    [
        pytest.param(True, False, False, "delivered", id="delivered"),
        pytest.param(False, True, False, "rejected", id="rejected"),
        pytest.param(False, False, False, "retry", id="retry"),
        pytest.param(False, False, True, "failed", id="given-up"),
    ],
)
def test_delivery_outcome_labels(ok: bool, permanent: bool, final: bool, label: str) -> None:
    assert outcome_of(ok=ok, permanent=permanent, final=final) == label
