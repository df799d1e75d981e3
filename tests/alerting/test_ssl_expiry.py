"""``ssl.expiring`` alerts fire once per threshold crossed, per certificate."""

from __future__ import annotations

import ssl
from dataclasses import replace
from datetime import timedelta

import trustme

from alerting.ssl_expiry import crossed
from checks.base import CheckContext
from checks.ssl import run
from store.clock import FrozenClock
from store.db import Store
from tests.alerting.helpers import make_channel, make_monitor, make_org, outbox, record, spec
from tests.servers.tls_server import TlsServer, server_context


def _context(ca: trustme.CA, clock: FrozenClock, days: float) -> ssl.SSLContext:
    leaf = ca.issue_cert(
        "localhost",
        not_before=clock.now() - timedelta(days=60),
        not_after=clock.now() + timedelta(days=days),
    )
    pems = b"".join(p.bytes() for p in leaf.cert_chain_pems)
    return server_context(pems, leaf.private_key_pem.bytes())


def _trusting(ca: trustme.CA, clock: FrozenClock) -> CheckContext:
    verify = ssl.create_default_context()
    ca.configure_trust(verify)
    return CheckContext(clock=clock, ssl_verify=verify)


def test_crossed_picks_the_tightest_threshold() -> None:
    assert crossed(40, (30, 14, 7, 1)) is None
    assert crossed(30, (30, 14, 7, 1)) == 30
    assert crossed(13, (30, 14, 7, 1)) == 14
    assert crossed(0, (30, 14, 7, 1)) == 1


async def test_ssl_expiring_alerts_once_per_threshold_and_resets_on_renewal(
    store: Store, clock: FrozenClock
) -> None:
    ca = trustme.CA()
    org = await make_org(store, clock)
    await make_channel(store, clock, org)

    async def check_and_record(server: TlsServer) -> None:
        target = replace(spec(monitor, "us-east-1"), url=f"localhost:{server.port}")
        result = await run(target, _trusting(ca, clock))
        await record(
            store, clock, monitor, result.status, error=result.error, details=result.details
        )

    monitor = await make_monitor(
        store, clock, org, type="SSL", url="localhost:443", interval_s=3600
    )
    async with TlsServer(_context(ca, clock, days=16.5)) as server:
        await check_and_record(server)  # 16 days left: crosses 30
        clock.advance(3 * 86400)
        await check_and_record(server)  # 13 days left: crosses 14
        clock.advance(3600)
        await check_and_record(server)  # still 13: nothing new
        clock.advance(3600)
        await check_and_record(server)

    expiring = [r for r in await outbox(store) if r.event_type == "ssl.expiring"]
    assert [r.payload["details"]["threshold"] for r in expiring] == [30, 14]
    assert expiring[1].payload["cause"].startswith("Certificate expires in 13 days")

    async with TlsServer(_context(ca, clock, days=10.5)) as renewed:  # a new certificate
        await check_and_record(renewed)
    expiring = [r for r in await outbox(store) if r.event_type == "ssl.expiring"]
    assert [r.payload["details"]["threshold"] for r in expiring] == [30, 14, 14]


async def test_expired_certificate_sends_no_expiry_alert(store: Store, clock: FrozenClock) -> None:
    ca = trustme.CA()
    org = await make_org(store, clock)
    await make_channel(store, clock, org)
    monitor = await make_monitor(
        store, clock, org, type="SSL", url="localhost:443", interval_s=3600, failure_threshold=1
    )
    async with TlsServer(_context(ca, clock, days=-2)) as server:
        target = replace(spec(monitor, "us-east-1"), url=f"localhost:{server.port}")
        result = await run(target, _trusting(ca, clock))
    assert result.status == "DOWN"
    await record(store, clock, monitor, result.status, error=result.error, details=result.details)
    # The outage alert says it; an "expiring" alert about the past would be noise.
    assert [r.event_type for r in await outbox(store)] == ["monitor.down"]
