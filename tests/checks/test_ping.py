"""The PING check against loopback, and against a namespace whose loopback ignores pings."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from checks.base import CheckContext, CheckResult, MonitorSpec
from checks.ping import NO_ICMP_SOCKET, PingStats, evaluate, run, validate_config
from tests.servers.dns import DnsServer
from tests.servers.icmp import EchoRequestListener
from tests.servers.netns import NamespaceUnavailable, NetNamespace

OPEN_PING_GROUPS = {"net.ipv4.ping_group_range": "0 2147483647"}
CLOSED_PING_GROUPS = {"net.ipv4.ping_group_range": "1 0"}


def monitor(url: str, *, timeout_s: float = 3.0, **config: Any) -> MonitorSpec:
    return MonitorSpec(
        id="m1", name="ping", type="PING", url=url, timeout_s=timeout_s, config=config, trusted=True
    )


@contextlib.contextmanager
def namespace(sysctls: dict[str, str]) -> Iterator[NetNamespace]:
    ns = NetNamespace(sysctls=sysctls)
    try:
        ns.start()
    except NamespaceUnavailable as exc:
        pytest.skip(f"needs a network namespace (run as root with iproute2): {exc}")
    try:
        yield ns
    finally:
        ns.stop()


@pytest.fixture
def silent_loopback() -> Iterator[NetNamespace]:
    """A namespace whose 127.0.0.1 ignores echo requests: every packet is lost."""
    with namespace({"net.ipv4.icmp_echo_ignore_all": "1", **OPEN_PING_GROUPS}) as ns:
        yield ns


async def ping_in(ns: NetNamespace, spec: MonitorSpec) -> tuple[CheckResult, float]:
    """The check's result inside the namespace, and how long ``run`` itself took."""
    ctx = CheckContext()  # built outside the timing: loading CA stores takes a while

    async def timed() -> tuple[CheckResult, float]:
        started = time.monotonic()
        result = await run(spec, ctx)
        return result, time.monotonic() - started

    return await ns.run(timed)


async def test_run_reports_round_trips_from_loopback() -> None:
    result = await run(monitor("127.0.0.1", count=3, packetInterval=0.05), CheckContext())

    if result.error == NO_ICMP_SOCKET:
        pytest.skip("this machine allows neither unprivileged nor raw ICMP sockets")
    assert result.status == "UP", result.error
    details = result.details
    assert details["packetsSent"] == 3
    assert details["packetsReceived"] == 3
    assert details["packetLoss"] == 0
    assert 0 < details["minRttMs"] <= details["avgRttMs"] <= details["maxRttMs"]
    assert details["jitterMs"] >= 0
    assert len(details["rttsMs"]) == 3
    assert isinstance(details["privileged"], bool)
    assert result.timings.total == pytest.approx(details["avgRttMs"], abs=0.001)
    assert result.timings.dns is None


async def test_run_resolves_localhost_from_hosts_file() -> None:
    result = await run(monitor("localhost", count=1), CheckContext())

    assert result.status == "UP", result.error
    assert result.details["address"] in ("127.0.0.1", "::1")
    assert result.timings.dns is not None


async def test_run_uses_unprivileged_socket_when_kernel_allows() -> None:
    with namespace(OPEN_PING_GROUPS) as ns:
        result, _ = await ping_in(ns, monitor("127.0.0.1", count=2, packetInterval=0.05))

        assert result.status == "UP", result.error
        assert result.details["privileged"] is False


async def test_run_falls_back_to_raw_socket_when_ping_groups_closed() -> None:
    with namespace(CLOSED_PING_GROUPS) as ns:
        result, _ = await ping_in(ns, monitor("127.0.0.1", count=2, packetInterval=0.05))

        assert result.status == "UP", result.error
        assert result.details["privileged"] is True


async def test_run_reports_no_reply_within_timeout(silent_loopback: NetNamespace) -> None:
    spec = monitor("127.0.0.1", timeout_s=1.0, count=3, packetInterval=0.2)

    result, elapsed = await ping_in(silent_loopback, spec)

    assert result.status == "DOWN"
    assert result.error == "PING: no reply from 127.0.0.1 (3 packets sent)"
    assert result.details["packetLoss"] == 100
    assert result.details["avgRttMs"] is None
    assert result.response_time_ms is None
    # Two 0.2 s gaps and three waits sharing the rest of 0.9 s (0.1 s is kept as slack);
    # a busy machine may wake late. Waiting the full timeout per packet would take 3.4 s.
    assert 0.85 <= elapsed < 1.3


async def test_run_degrades_when_average_round_trip_over_limit() -> None:
    result = await run(
        monitor("127.0.0.1", count=2, packetInterval=0.05, maxAvgRttMs=0.001), CheckContext()
    )

    assert result.status == "DEGRADED"
    avg = result.details["avgRttMs"]
    assert result.error == f"PING: average round trip {avg:.3g} ms is over the limit of 0.001 ms"


async def test_run_reports_unknown_name() -> None:
    with DnsServer({}) as dns_server:
        ctx = CheckContext(nameservers=(dns_server.address,))
        result = await run(monitor("nowhere.test"), ctx)

    assert result.status == "DOWN"
    assert result.error == "DNS: NXDOMAIN for nowhere.test"


async def test_run_refuses_packets_that_cannot_fit_in_timeout() -> None:
    result = await run(
        monitor("127.0.0.1", timeout_s=2, count=10, packetInterval=1), CheckContext()
    )

    assert result.status == "DOWN"
    assert result.error == (
        "PING: 10 packets 1 s apart do not fit in the 2 s timeout; "
        "lower config.count or config.packetInterval"
    )


@pytest.mark.parametrize(
    ("stats", "config", "expected"),
    [
        pytest.param(PingStats(3, 3, (1.0, 2.0, 3.0)), {}, ("UP", None), id="all-answered"),
        pytest.param(
            PingStats(4, 3, (1.0, 2.0, 3.0)),
            {"maxLossPercent": 10},
            (
                "DEGRADED",
                "PING: packet loss 25% is over the limit of 10% (3 of 4 packets answered)",
            ),
            id="loss-over-limit",
        ),
        pytest.param(
            PingStats(4, 3, (1.0, 2.0, 3.0)),
            {"maxLossPercent": 25},
            ("UP", None),
            id="loss-at-limit",
        ),
        pytest.param(
            PingStats(3, 3, (100.0, 150.0, 200.0)),
            {"maxAvgRttMs": 120},
            ("DEGRADED", "PING: average round trip 150 ms is over the limit of 120 ms"),
            id="rtt-over-limit",
        ),
        pytest.param(
            PingStats(3, 2, (100.0, 200.0)),
            {"maxAvgRttMs": 120, "maxLossPercent": 0},
            (
                "DEGRADED",
                "PING: packet loss 33.3% is over the limit of 0% (2 of 3 packets answered); "
                "average round trip 150 ms is over the limit of 120 ms",
            ),
            id="both-over-limit",
        ),
        pytest.param(
            PingStats(2, 0, ()),
            {"maxLossPercent": 50},
            ("DOWN", "PING: no reply from db.test (2 packets sent)"),
            id="all-lost",
        ),
        pytest.param(
            PingStats(0, 0, ()),
            {},
            ("DOWN", "PING: could not send any packet to db.test (no route from this worker?)"),
            id="nothing-sent",
        ),
    ],
)
def test_evaluate_applies_limits(
    stats: PingStats, config: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    assert evaluate(stats, config, host="db.test") == expected


def test_ping_stats_jitter_is_mean_step_between_round_trips() -> None:
    assert PingStats(3, 3, (1.0, 4.0, 2.0)).jitter_ms == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("config", "issues"),
    [
        pytest.param({}, [], id="defaults"),
        pytest.param(
            {"count": 5, "packetInterval": 1, "maxLossPercent": 20, "maxAvgRttMs": 50.5},
            [],
            id="valid",
        ),
        pytest.param(
            {"count": 0}, [("config.count", "must be a whole number from 1 to 100")], id="count-0"
        ),
        pytest.param(
            {"packetInterval": "fast"},
            [("config.packetInterval", "must be a number of seconds from 0.01 to 60")],
            id="interval-text",
        ),
        pytest.param(
            {"maxLossPercent": 150},
            [("config.maxLossPercent", "must be a percentage from 0 to 100")],
            id="loss-150",
        ),
        pytest.param(
            {"maxAvgRttMs": 0},
            [("config.maxAvgRttMs", "must be a number of milliseconds above 0")],
            id="rtt-0",
        ),
    ],
)
def test_validate_config_names_each_bad_field(
    config: dict[str, Any], issues: list[tuple[str, str]]
) -> None:
    assert validate_config(config) == issues


async def test_run_sends_on_a_fixed_interval_whatever_the_losses(
    silent_loopback: NetNamespace,
) -> None:
    # Every request is lost; spacing is measured where the target sees the packets.
    spec = monitor("127.0.0.1", timeout_s=2.0, count=4, packetInterval=0.2)
    ctx = CheckContext()

    async def listened() -> tuple[CheckResult, list[tuple[int, float]]]:
        async with EchoRequestListener() as listener:
            result = await run(spec, ctx)
        return result, listener.arrivals

    result, arrivals = await silent_loopback.run(listened)

    assert result.details["packetsSent"] == 4
    assert result.details["packetLoss"] == 100
    assert [seq for seq, _ in arrivals] == [0, 1, 2, 3]
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(arrivals)]
    # The schedule is absolute: a late wakeup shortens the next gap rather than adding up.
    # Waiting for each lost reply first would space them 0.2 s + 0.3 s apart.
    assert 0.6 - 0.02 <= arrivals[-1][1] - arrivals[0][1] <= 0.6 + 0.15, gaps
    assert all(gap < 0.35 for gap in gaps), gaps


async def test_run_timings_add_up_and_are_rounded() -> None:
    result = await run(monitor("localhost", count=2, packetInterval=0.05), CheckContext())

    assert result.status == "UP", result.error
    t = result.timings
    assert t.dns is not None and t.ttfb is not None and t.total is not None
    assert t.ttfb == result.details["avgRttMs"]
    assert t.total == round(t.dns + t.ttfb, 3)
    assert result.response_time_ms == round(t.total)
    for phase in (t.dns, t.ttfb, t.total):
        assert phase == round(phase, 3)
