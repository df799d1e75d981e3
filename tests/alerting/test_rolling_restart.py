"""SIGTERM to a dispatcher (a rolling restart): it finishes the deliveries in hand
within its grace, hands back the rest for a peer to send at once, and exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from store.clock import FrozenClock
from store.db import Store
from tests.alerting.test_dispatcher import _queue_down_alert, _rows, _until
from tests.servers.receivers import HttpReceiver, Reply


def _dispatcher(database_url: str, *, grace_s: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VIGIL_DATABASE_URL": database_url,
        # A long lease: a peer must get the row because it was handed back, not
        # because the lease ran out.
        "VIGIL_DISPATCH_LEASE_S": "60",
        "VIGIL_SHUTDOWN_GRACE_S": str(grace_s),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "dispatcher"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _exit_code(proc: subprocess.Popen[bytes], *, within_s: float) -> int:
    deadline = time.monotonic() + within_s
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the dispatcher did not exit within {within_s} s")
        await asyncio.sleep(0.05)
    return proc.returncode


async def test_sigterm_finishes_a_delivery_in_hand_within_the_grace(
    store: Store, clock: FrozenClock, database_url: str
) -> None:
    async with HttpReceiver(replies=[Reply(delay_s=1.5)], default=200) as hooks:
        await _queue_down_alert(store, clock, hooks.url_for("/hook"))
        proc = _dispatcher(database_url, grace_s=10)
        try:
            await hooks.wait_for(1, timeout=30)  # the delivery is in flight
            proc.send_signal(signal.SIGTERM)
            code = await _exit_code(proc, within_s=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        err = proc.stderr.read().decode() if proc.stderr else ""
    assert code == 0, err[-2000:]
    (row,), attempts = await _rows(store)
    assert row.status == "delivered" and row.attempts == 1
    assert [a.outcome for a in attempts] == ["delivered"]
    assert len(hooks.requests) == 1


async def test_sigterm_past_the_grace_hands_the_delivery_back_to_a_peer(
    store: Store, clock: FrozenClock, database_url: str
) -> None:
    async with HttpReceiver(replies=[Reply(hang=True)], default=200) as hooks:
        await _queue_down_alert(store, clock, hooks.url_for("/hook"))
        first = _dispatcher(database_url, grace_s=0.5)
        try:
            await hooks.wait_for(1, timeout=30)
            first.send_signal(signal.SIGTERM)
            code = await _exit_code(first, within_s=10)
        finally:
            if first.poll() is None:
                first.kill()
        err = first.stderr.read().decode() if first.stderr else ""
        assert code == 0, err[-2000:]
        assert "handed back unfinished at shutdown" in err
        (row,), attempts = await _rows(store)
        # Pending, no lease: due now, for whichever dispatcher looks next.
        assert row.status == "pending" and row.lease_until is None and row.attempt_id is None
        assert [a.outcome for a in attempts] == ["interrupted"]

        handed_back_at = time.monotonic()
        peer = _dispatcher(database_url, grace_s=5)
        try:
            got = await hooks.wait_for(2, timeout=30)

            async def delivered() -> bool:
                (r,), _ = await _rows(store)
                return r.status == "delivered"

            await _until(delivered, within=10, what="the peer to deliver the handed-back alert")
            # Far inside the 60 s lease the first dispatcher had taken.
            assert time.monotonic() - handed_back_at < 30
            peer.send_signal(signal.SIGTERM)
            assert await _exit_code(peer, within_s=10) == 0
        finally:
            if peer.poll() is None:
                peer.kill()
    assert [g.header("X-Event-Id") for g in got] == ["evt_outage1"] * 2
    _, attempts = await _rows(store)
    assert [a.outcome for a in attempts] == ["interrupted", "delivered"]
