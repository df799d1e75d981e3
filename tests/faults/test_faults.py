"""Faults an operator meets, with real ``vigil`` processes on a throwaway PostgreSQL
cluster: kill -9 of a worker, a dispatcher and an API; the database stopped and
started again; a receiver down for (a scaled-down) 30 minutes.

Each test prints what it measured (see the "fault suite figures" section).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from alerting.channels.base import AlertEvent
from alerting.outbox import enqueue
from store.clock import FrozenClock, utc
from store.db import Store
from store.models import AlertAttempt, AlertOutbox, Incident, Monitor, MonitorSchedule
from store.models import CheckResult as CheckResultRow
from store.models import Worker as WorkerRow
from store.monitors import create_monitor
from store.orgs import create_org
from tests.alerting.helpers import make_channel, make_monitor
from tests.faults.cluster import PgCluster, free_port
from tests.faults.procs import Fleet, VigilProcess, fleet, wait_until
from tests.servers.receivers import HttpReceiver, Reply
from tests.servers.tiny_http import TinyHTTPServer
from tests.workers.seed import add_monitors

pytestmark = [pytest.mark.fault, pytest.mark.timeout(180)]

# The issue asks for 60 s; 35 s covers the same ground (the first 30 s outage
# summary, leases and delivery leases lapsing, pools dropping every connection) in
# a bounded CI run. VIGIL_FAULT_OUTAGE_S=60 runs the full minute.
OUTAGE_S = float(os.environ.get("VIGIL_FAULT_OUTAGE_S", "35"))


def _now() -> datetime:
    return datetime.now(UTC)


async def _results_since(store: Store, ids: set[str], since: datetime) -> dict[str, datetime]:
    """Each monitor's first result checked after ``since``."""
    async with store.sessions() as s:
        rows = await s.execute(
            select(Monitor.id, func.min(CheckResultRow.checked_at))
            .select_from(CheckResultRow)
            .join(Monitor, Monitor.num == CheckResultRow.monitor_num)
            .where(Monitor.id.in_(ids), CheckResultRow.checked_at > since)
            .group_by(Monitor.id)
        )
        return {
            m: utc(at) if isinstance(at, datetime) else utc(datetime.fromisoformat(at))
            for m, at in rows
        }


async def _slots_run_twice(store: Store) -> list[tuple[str, str]]:
    async with store.sessions() as s:
        rows = (
            await s.execute(
                select(Monitor.id, CheckResultRow.details)
                .select_from(CheckResultRow)
                .join(Monitor, Monitor.num == CheckResultRow.monitor_num)
            )
        ).all()
    seen = Counter((str(m), str((d or {}).get("scheduledAt"))) for m, d in rows)
    return [k for k, n in seen.items() if n > 1]


async def test_worker_killed_its_slots_run_within_lease_expiry_plus_2_s(
    fault_store: Store, fault_url: str, tmp_path: Path, figures: dict[str, object]
) -> None:
    async with TinyHTTPServer() as target, fleet(fault_url, tmp_path) as f:
        ids = await add_monitors(
            fault_store, 60, url=target.url, now=_now(), interval_s=10, timeout_s=2
        )
        doomed = await f.start("worker-a", "worker", "--region", "local")
        await f.start("worker-b", "worker", "--region", "local")

        async def both_running() -> bool:
            async with fault_store.sessions() as s:
                workers = (await s.scalars(select(WorkerRow.pid))).all()
            return (
                len(workers) == 2
                and len(await _results_since(fault_store, set(ids), _now() - timedelta(minutes=5)))
                >= 10
            )

        await wait_until(both_running, within_s=40, what="two workers checking")

        async def doomed_holds() -> list[Any]:
            async with fault_store.sessions() as s:
                return list(
                    (
                        await s.execute(
                            select(MonitorSchedule.monitor_id, MonitorSchedule.lease_until)
                            .join(WorkerRow, WorkerRow.id == MonitorSchedule.leased_by)
                            .where(
                                WorkerRow.pid == doomed.pid,
                                MonitorSchedule.leased_slot_at.is_not(None),
                            )
                        )
                    ).all()
                )

        async def holds_some() -> bool:
            return len(await doomed_holds()) >= 2

        await wait_until(
            holds_some, within_s=20, what="leases held by the doomed worker", every_s=0.02
        )
        await doomed.kill()
        killed_at = _now()
        held = {m: utc(lease) for m, lease in await doomed_holds()}
        assert held, "the killed worker held no slots"

        async def all_rechecked() -> bool:
            return set(await _results_since(fault_store, set(held), killed_at)) == set(held)

        latest = max(held.values())
        await wait_until(
            all_rechecked, within_s=(latest - _now()).total_seconds() + 10, what="orphans re-run"
        )
        first = await _results_since(fault_store, set(held), killed_at)
        overrun = {m: (first[m] - held[m]).total_seconds() for m in held}
        assert max(overrun.values()) <= 2.0, overrun
        assert await _slots_run_twice(fault_store) == []
    figures.update(
        orphaned_slots=len(held),
        worst_recheck_after_lease_expiry_s=round(max(overrun.values()), 2),
        worst_recheck_after_kill_s=round(
            max((first[m] - killed_at).total_seconds() for m in held), 2
        ),
    )


async def _queue_alert(store: Store, url: str, *, event_id: str) -> str:
    clock = FrozenClock(_now())
    async with store.transaction() as session:
        org, _ = await create_org(
            session,
            name="Acme",
            slug=event_id.replace("_", "-"),
            plan="ENTERPRISE",
            owner_email=f"o@{event_id}.t",
            now=clock.now(),
            trusted=True,
        )
    channel = await make_channel(store, clock, org.id, config={"url": url, "secret": "s"})
    monitor = await make_monitor(store, clock, org.id)
    event = AlertEvent(
        id=event_id,
        type="monitor.down",
        monitor_id=monitor.id,
        monitor_name=monitor.name,
        monitor_url=monitor.url,
        occurred_at=clock.now(),
    )
    async with store.transaction() as session:
        await enqueue(session, event, org_id=org.id, channel_ids=[channel], now=clock.now())
    return channel


async def _attempts(store: Store) -> list[str]:
    async with store.sessions() as s:
        return list(await s.scalars(select(AlertAttempt.outcome).order_by(AlertAttempt.id)))


async def test_dispatcher_killed_mid_delivery_is_taken_over_within_15_s(
    fault_store: Store, fault_url: str, tmp_path: Path, figures: dict[str, object]
) -> None:
    async with (
        HttpReceiver(replies=[Reply(hang=True)], default=200) as hooks,
        fleet(fault_url, tmp_path) as f,
    ):
        # The peer is started first and frozen, so that the doomed dispatcher is
        # the one to claim the alert, and the peer is running when it dies.
        peer = await f.start("dispatcher-b", "dispatcher")

        async def peer_up() -> bool:
            return "workers running for regions" in peer.log

        await wait_until(peer_up, within_s=60, what="the second dispatcher")
        peer.pause()
        await _queue_alert(fault_store, hooks.url_for("/hook"), event_id="evt_kill_dispatcher")
        doomed = await f.start("dispatcher-a", "dispatcher")
        await hooks.wait_for(1, timeout=60)  # in flight, never answered
        peer.resume()
        await doomed.kill()
        killed = time.monotonic()
        got = await hooks.wait_for(2, timeout=20)
        redelivered_s = time.monotonic() - killed

        async def recorded() -> bool:
            return await _attempts(fault_store) == ["interrupted", "delivered"]

        await wait_until(recorded, within_s=10, what="the attempts recorded")
        assert await peer.terminate() == 0
    assert redelivered_s < 15
    assert [g.header("X-Event-Id") for g in got] == ["evt_kill_dispatcher"] * 2
    figures.update(redelivery_after_dispatcher_kill_s=round(redelivered_s, 2))


async def _heartbeats(store: Store, count: int) -> dict[str, str]:
    """``count`` heartbeat monitors: token -> monitor id."""
    now = _now()
    async with store.transaction() as session:
        org, _ = await create_org(
            session,
            name="Pings",
            slug="pings",
            plan="ENTERPRISE",
            owner_email="o@p.t",
            now=now,
            trusted=True,
        )
        out = {}
        for i in range(count):
            m = await create_monitor(
                session,
                org.id,
                {
                    "name": f"job {i}",
                    "url": "",
                    "type": "HEARTBEAT",
                    "interval_s": 3600,
                    "regions": ["heartbeat"],
                    "config": {"grace": 3600},
                    "is_active": True,
                    "failure_threshold": 1,
                    "recovery_threshold": 1,
                    "region_quorum": 1,
                    "timeout_s": 30,
                    "method": "GET",
                },
                now=now,
            )
            assert m.heartbeat_token is not None
            out[m.heartbeat_token] = m.id
    return out


async def _start_api(f: Fleet, name: str, port: int) -> VigilProcess:
    api = await f.start(name, "api", VIGIL_PORT=str(port))

    async def ready() -> bool:
        try:
            async with httpx.AsyncClient() as c:
                return (await c.get(f"http://127.0.0.1:{port}/healthz", timeout=1)).is_success
        except httpx.HTTPError:
            return False

    took = await wait_until(ready, within_s=90, what=f"{name} listening")
    print(f"{name} listening after {took:.1f} s")
    return api


async def test_api_killed_under_heartbeat_load_loses_no_acknowledged_ping(
    fault_store: Store, fault_url: str, tmp_path: Path, figures: dict[str, object]
) -> None:
    tokens = await _heartbeats(fault_store, 20)
    port = free_port()
    acked: Counter[str] = Counter()
    stop = asyncio.Event()

    async def pinger(token: str) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            while not stop.is_set():
                try:
                    r = await c.post(f"/api/heartbeat/{token}", content=b"ok", timeout=5)
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)  # the API is being restarted
                    continue
                if r.status_code == 200:
                    acked[token] += 1

    async with fleet(fault_url, tmp_path) as f:
        first = await _start_api(f, "api-a", port)
        load = [asyncio.create_task(pinger(t)) for t in tokens]

        async def some_acked() -> bool:
            return sum(acked.values()) >= 200

        await wait_until(some_acked, within_s=30, what="pings acknowledged")
        await first.kill()
        before_restart = sum(acked.values())
        await _start_api(f, "api-b", port)

        async def more_acked() -> bool:
            return sum(acked.values()) >= before_restart + 200

        await wait_until(more_acked, within_s=30, what="pings after the restart")
        stop.set()
        await asyncio.gather(*load)

    async with fault_store.sessions() as s:
        rows = dict(
            (
                await s.execute(
                    select(Monitor.id, func.count())
                    .select_from(CheckResultRow)
                    .join(Monitor, Monitor.num == CheckResultRow.monitor_num)
                    .group_by(Monitor.id)
                )
            ).all()
        )
    lost = {t: acked[t] - rows.get(m, 0) for t, m in tokens.items() if rows.get(m, 0) < acked[t]}
    assert lost == {}, f"acknowledged pings not recorded: {lost}"
    figures.update(pings_acknowledged=sum(acked.values()), acknowledged_pings_lost=0)


def _log_lines(path: Path) -> list[str]:
    """A process's log lines, without the access log (one line per request by design)."""
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return [line for line in lines if " vigil.access: " not in line]


async def test_store_stopped_and_restarted_loses_nothing_and_alerts_once_per_change(
    cluster: PgCluster,
    fault_store: Store,
    fault_url: str,
    tmp_path: Path,
    figures: dict[str, object],
) -> None:
    async with TinyHTTPServer() as target, HttpReceiver() as hooks, fleet(fault_url, tmp_path) as f:
        ids = set(
            await add_monitors(
                fault_store, 6, url=target.url, now=_now(), interval_s=5, timeout_s=2
            )
        )
        org_id = await _org_of(fault_store, next(iter(ids)))
        await make_channel(
            fault_store,
            FrozenClock(_now()),
            org_id,
            config={"url": hooks.url_for("/h"), "secret": "s"},
        )
        async with fault_store.transaction() as session:
            _, key = await create_org(
                session,
                name="Ops",
                slug="ops",
                plan="ENTERPRISE",
                owner_email="o@o.t",
                now=_now(),
                trusted=True,
            )
        hb_token = next(iter(await _heartbeats(fault_store, 1)))
        await f.start("worker", "worker", "--region", "local")
        await f.start("dispatcher", "dispatcher")
        port = free_port()
        await _start_api(f, "api", port)
        await fault_store.close()  # the test's own pool must not hold dead connections

        def downs_and_ups() -> dict[str, Counter[str]]:
            seen: dict[str, set[str]] = defaultdict(set)
            for r in hooks.requests:
                body = r.json()
                seen[body["monitor"]["id"]].add(f"{body['type']}:{r.header('X-Event-Id')}")
            return {m: Counter(e.split(":")[0] for e in events) for m, events in seen.items()}

        target.status = 500

        async def all_down_alerted() -> bool:
            got = downs_and_ups()
            return all(got.get(m, Counter())["monitor.down"] == 1 for m in ids)

        await wait_until(all_down_alerted, within_s=60, what="six DOWN alerts")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            r = await c.post(
                "/api/monitors",
                headers={"Authorization": f"Bearer {key}"},
                json={"name": "llm", "type": "LLM"},
            )
            assert r.status_code == 201, r.text
            llm_id = r.json()["data"]["id"]
        event = {
            "provider": "openai",
            "model": "gpt-4o",
            "promptTokens": 10,
            "completionTokens": 5,
            "latencyMs": 100,
        }
        logs = {p.name: p.log_path for p in f.started}
        lines_before = {n: len(_log_lines(p)) for n, p in logs.items()}
        cluster.stop()
        down_at = time.monotonic()
        target.status = 200  # the sites recover while the store is away
        answers: Counter[tuple[int, str]] = Counter()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            while time.monotonic() - down_at < OUTAGE_S:
                for method, path, headers, body in (
                    ("GET", "/api/monitors", {"Authorization": f"Bearer {key}"}, None),
                    ("GET", f"/api/heartbeat/{hb_token}", {}, None),
                    ("POST", f"/api/ai/ingest/{llm_id}", {}, event),
                ):
                    r = await c.request(method, path, headers=headers, json=body, timeout=10)
                    answers[(r.status_code, r.json().get("code", ""))] += 1
                    assert r.status_code != 503 or r.headers.get("Retry-After") == "5"
                await asyncio.sleep(1)  # the operator's polling pace, not a wait
        outage_s = time.monotonic() - down_at
        during = {n: _log_lines(p)[lines_before[n] :] for n, p in logs.items()}
        lines_during = {n: len(lines) for n, lines in during.items()}
        cluster.start()
        up_at = time.monotonic()

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:

            async def api_back() -> bool:
                r = await c.get("/api/monitors", headers={"Authorization": f"Bearer {key}"})
                return r.status_code == 200

            api_back_s = await wait_until(api_back, within_s=30, what="the API answering")

        async def all_recovered() -> bool:
            got = downs_and_ups()
            return all(got.get(m, Counter())["monitor.up"] == 1 for m in ids)

        await wait_until(all_recovered, within_s=60, what="six RECOVERED alerts")
        recovered_s = time.monotonic() - up_at
        store = Store(fault_url, pool_size=2)
        try:

            async def outbox_done() -> bool:
                async with store.sessions() as s:
                    left = await s.scalar(
                        select(func.count()).where(AlertOutbox.status != "delivered")
                    )
                return left == 0

            await wait_until(outbox_done, within_s=20, what="every outbox row delivered")
            async with store.sessions() as s:
                opened = select(Incident.monitor_id).where(Incident.monitor_id.in_(ids))
                per_monitor = Counter((await s.scalars(opened)).all())
                statuses = Counter((await s.scalars(select(AlertOutbox.event_type))).all())
        finally:
            await store.close()
        final = downs_and_ups()
    assert set(answers) <= {(503, "store_unavailable")}, answers
    assert per_monitor == Counter({m: 1 for m in ids})  # no duplicate incident
    assert all(final[m] == Counter({"monitor.down": 1, "monitor.up": 1}) for m in ids), final
    assert statuses == Counter({"monitor.down": 6, "monitor.up": 6})
    per_minute = {n: round(c * 60 / outage_s, 1) for n, c in lines_during.items()}
    # Per duty: one line when the store went away, a summary each 30 s.
    noisy = {n: during[n] for n, c in lines_during.items() if c > 12}
    assert not noisy, noisy
    assert not any("Traceback" in line for lines in during.values() for line in lines), during
    figures.update(
        outage_s=round(outage_s, 1),
        api_back_after_restart_s=round(api_back_s, 2),
        all_recovered_alerts_after_restart_s=round(recovered_s, 2),
        log_lines_per_min_while_down=per_minute,
    )


async def _org_of(store: Store, monitor_id: str) -> str:
    from store.models import Monitor

    async with store.sessions() as s:
        org = await s.scalar(select(Monitor.org_id).where(Monitor.id == monitor_id))
    assert org is not None
    return org


async def test_receiver_down_for_30_scaled_minutes_gets_the_alert_once_afterwards(
    fault_store: Store, fault_url: str, tmp_path: Path, figures: dict[str, object]
) -> None:
    # The schedule at 1/100 scale: 0.1 s doubling, capped at 9 s, for 864 s (24 h);
    # a 30 min outage becomes 18 s.
    scale = 100
    env = {
        "VIGIL_ALERT_RETRY_BASE_S": str(10 / scale),
        "VIGIL_ALERT_RETRY_CAP_S": str(900 / scale),
        "VIGIL_ALERT_RETRY_WINDOW_S": str(86400 / scale),
    }
    async with HttpReceiver(default=503) as hooks, fleet(fault_url, tmp_path, env) as f:
        await _queue_alert(fault_store, hooks.url_for("/hook"), event_id="evt_receiver_down")
        await f.start("dispatcher", "dispatcher")
        await hooks.wait_for(1, timeout=30)
        await asyncio.sleep(30 * 60 / scale)  # the receiver's outage itself
        failed_tries = len(hooks.requests)
        hooks.reply_with(default=200)
        await hooks.wait_for(failed_tries + 1, timeout=900 / scale * 1.2 + 10)

        async def delivered() -> bool:
            async with fault_store.sessions() as s:
                return await s.scalar(select(AlertOutbox.status)) == "delivered"

        await wait_until(delivered, within_s=10, what="the row marked delivered")
        await f.started[0].terminate()
    assert len(hooks.requests) == failed_tries + 1  # once afterwards, then nothing
    assert {r.header("X-Event-Id") for r in hooks.requests} == {"evt_receiver_down"}
    figures.update(failed_attempts_during_outage=failed_tries)
