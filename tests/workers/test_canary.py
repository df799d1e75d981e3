"""A worker whose own network is broken: its canary fails, so its failures page no one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from alerting.evaluator import Evaluator
from checks.base import CheckContext
from checks.target import HostPort
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.models import CheckResult as CheckResultRow
from store.models import Worker as WorkerRow
from store.results import PROBE_UNHEALTHY
from tests.alerting.helpers import incidents, make_channel, make_monitor, make_org, outbox
from tests.servers.dns import DnsServer
from tests.servers.tcp import closed_port
from tests.servers.tiny_http import TinyHTTPServer
from workers.canary import probe, targets_for
from workers.worker import Worker


async def _wait_until(condition: Callable[[], Awaitable[bool]], *, within_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await condition():
        assert loop.time() < deadline, f"timed out after {within_s} s"
        await asyncio.sleep(0.05)


async def _results(store: Store, region: str) -> list[CheckResultRow]:
    async with store.sessions() as s:
        rows = await s.scalars(select(CheckResultRow).where(CheckResultRow.region == region))
        return list(rows)


async def test_sick_worker_opens_no_incident_and_alerts_the_operator_once(
    store: Store, clock: FrozenClock
) -> None:
    org = await make_org(store, clock)
    channel = await make_channel(store, clock, org)
    settings = Settings(database_url=store.url)
    with closed_port() as dead_port:
        dead = HostPort("127.0.0.1", dead_port)  # the sick worker's resolver: gone
        async with (
            TinyHTTPServer() as target,
            DnsServer({"app.test.": {"A": ["127.0.0.1"]}}) as dns,
        ):
            resolver = HostPort("127.0.0.1", dns.port)
            monitor = await make_monitor(
                store,
                clock,
                org,
                url=f"http://app.test:{target.port}/",
                regions=["sick", "ok"],
                failure_threshold=1,
                region_quorum=1,
                interval_s=1,
                timeout_s=1,
            )
            sick = Worker(
                store,
                settings,
                region="sick",
                concurrency=4,
                context=CheckContext(nameservers=(str(dead),)),
                canary_targets=[dead],
                on_batch=Evaluator(),
            )
            well = Worker(
                store,
                settings,
                region="ok",
                concurrency=4,
                context=CheckContext(nameservers=(str(resolver),)),
                canary_targets=[resolver],
                on_batch=Evaluator(),
            )
            for worker in (sick, well):
                await worker.start()
            try:

                async def three_each() -> bool:
                    counts = [len(await _results(store, r)) for r in ("sick", "ok")]
                    return min(counts) >= 3

                await _wait_until(three_each, within_s=20)
                await sick.check_canary()  # a later canary of the same sickness
            finally:
                for worker in (sick, well):
                    await worker.stop()

    sick_results = await _results(store, "sick")
    ok_results = await _results(store, "ok")
    assert {r.status for r in ok_results} == {"UP"}
    # Stored, and marked: the failures are the sick worker's own DNS, not the target.
    assert {r.status for r in sick_results} == {"DOWN"}
    for row in sick_results:
        assert row.details is not None
        assert row.details[PROBE_UNHEALTHY]["workerId"] == sick.id
        assert str(dead) in row.details[PROBE_UNHEALTHY]["canaryError"]
    assert await incidents(store, monitor.id) == []
    alerts = await outbox(store)
    assert [(a.event_type, a.channel_id) for a in alerts] == [("worker.unhealthy", channel)]
    payload = alerts[0].payload
    assert payload["details"] == {"workerId": sick.id, "region": "sick"}
    assert payload["monitorName"] == f"worker {sick.id}"
    assert payload["cause"].startswith(
        f"canary: 1 of 1 connectivity targets unreachable from this worker: {dead} "
        "(Connection refused)"
    )


async def test_sick_worker_leaves_its_region_to_a_healthy_peer(
    store: Store, clock: FrozenClock
) -> None:
    settings = Settings(database_url=store.url)
    org = await make_org(store, clock)
    await make_monitor(store, clock, org, regions=["r1"], interval_s=1)
    async with DnsServer({}) as dns:
        live = HostPort("127.0.0.1", dns.port)
        with closed_port() as dead_port:
            dead = HostPort("127.0.0.1", dead_port)
            sick = Worker(store, settings, region="r1", canary_targets=[dead])
            await sick.start()
            try:
                # Alone in its region it keeps checking (results marked), ...
                assert sick.canary_error is not None
                peer = Worker(store, settings, region="r1", canary_targets=[live])
                await peer.start()
                try:
                    # ... but with a healthy peer it claims nothing: the peer takes over.
                    assert await sick.claim() == 0
                    async with store.sessions() as s:
                        rows = {w.id: w for w in await s.scalars(select(WorkerRow))}
                    assert rows[sick.id].healthy is False
                    assert rows[peer.id].healthy is True
                    # Its canary passes again: it claims as before, and is healthy.
                    sick.canary_targets = (live,)
                    assert await sick.check_canary() is None
                    async with store.sessions() as s:
                        row = await s.get(WorkerRow, sick.id)
                        assert row is not None
                        assert (row.healthy, row.canary_error, row.unhealthy_alerted_at) == (
                            True,
                            None,
                            None,
                        )
                finally:
                    await peer.stop()
            finally:
                await sick.stop()


async def test_probe_fails_only_when_most_targets_are_unreachable() -> None:
    async with DnsServer({}) as one, DnsServer({}) as two:
        up = [HostPort("127.0.0.1", one.port), HostPort("127.0.0.1", two.port)]
        with closed_port() as port:
            down = HostPort("127.0.0.1", port)
            assert await probe([]) is None
            assert await probe([up[0]]) is None
            assert await probe([up[0], down]) is None  # half: one host may be down
            assert await probe([*up, down]) is None
            assert await probe([up[0], down, down]) == (
                f"canary: 2 of 3 connectivity targets unreachable from this worker: "
                f"{down} (Connection refused), {down} (Connection refused)"
            )


def test_targets_per_region_and_default() -> None:
    env = {"VIGIL_CANARY_TARGETS": "10.0.0.2:53,1.1.1.1:443; eu-west-1=10.1.0.2:53"}
    assert targets_for("eu-west-1", environ=env) == (HostPort("10.1.0.2", 53),)
    assert targets_for("us-east-1", environ=env) == (
        HostPort("10.0.0.2", 53),
        HostPort("1.1.1.1", 443),
    )
    assert targets_for("us-east-1", environ={}) == ()
