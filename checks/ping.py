"""PING check: ICMP echo with icmplib, reporting round trips and packet loss.

``monitor.url`` is a host name or IP. ``monitor.config``: ``count`` (default 3),
``packetInterval`` (seconds, default 0.2), ``maxLossPercent`` and ``maxAvgRttMs``
(DEGRADED above them). Requests leave on a fixed schedule whatever happens to
the replies (checks/echo.py), and the waits fit in the monitor's timeout, so lost
packets cannot push the check past it. Timings: ``dns`` for the lookup, ``ttfb``
for the average round trip, ``total`` their sum. Unprivileged ICMP sockets are
tried first (allowed by the net.ipv4.ping_group_range sysctl), then raw sockets.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import icmplib

from checks.base import CheckContext, CheckResult, MonitorSpec, Status, Timings
from checks.echo import echo
from checks.resolve import ResolveError, resolve
from checks.target import TargetError, parse_host_port

DEFAULT_COUNT = 3
DEFAULT_INTERVAL_S = 0.2
MAX_COUNT = 100
# Below this a packet's wait is shorter than a slow but healthy round trip.
MIN_WAIT_S = 0.05
# Headroom kept from the timeout so the check reports its own finding before the
# runner's overall timeout cancels it (asyncio wakeups run a few ms late per packet).
SLACK_FRACTION = 0.1
MAX_SLACK_S = 0.5

NO_ICMP_SOCKET = (
    "PING: this worker may not send ICMP: allow unprivileged ping with "
    "'sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"' or give the worker CAP_NET_RAW"
)


@dataclass(frozen=True)
class PingStats:
    sent: int
    received: int
    rtts_ms: tuple[float, ...]

    @property
    def loss_percent(self) -> float:
        return 100.0 * (self.sent - self.received) / self.sent if self.sent else 100.0

    @property
    def avg_ms(self) -> float | None:
        return statistics.fmean(self.rtts_ms) if self.rtts_ms else None

    @property
    def jitter_ms(self) -> float | None:
        """Mean absolute difference between consecutive round trips (RFC 3550 style)."""
        if len(self.rtts_ms) < 2:
            return 0.0 if self.rtts_ms else None
        return statistics.fmean(abs(b - a) for a, b in itertools.pairwise(self.rtts_ms))


def validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, issue) pairs for a PING monitor's config; empty when it is valid."""
    issues: list[tuple[str, str]] = []
    count = config.get("count", DEFAULT_COUNT)
    if not _is_int(count) or not 1 <= count <= MAX_COUNT:
        issues.append(("config.count", f"must be a whole number from 1 to {MAX_COUNT}"))
    interval = config.get("packetInterval", DEFAULT_INTERVAL_S)
    if not _is_number(interval) or not 0.01 <= interval <= 60:
        issues.append(("config.packetInterval", "must be a number of seconds from 0.01 to 60"))
    loss = config.get("maxLossPercent")
    if loss is not None and (not _is_number(loss) or not 0 <= loss <= 100):
        issues.append(("config.maxLossPercent", "must be a percentage from 0 to 100"))
    rtt = config.get("maxAvgRttMs")
    if rtt is not None and (not _is_number(rtt) or rtt <= 0):
        issues.append(("config.maxAvgRttMs", "must be a number of milliseconds above 0"))
    return issues


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def run(monitor: MonitorSpec, ctx: CheckContext) -> CheckResult:
    now = ctx.clock.now()
    issues = validate_config(monitor.config)
    if issues:
        field, issue = issues[0]
        return CheckResult("DOWN", error=f"PING: {field} {issue}", checked_at=now)
    try:
        host = parse_host_port(monitor.url, default_port=0).host
    except TargetError as exc:
        return CheckResult("DOWN", error=f"PING: {exc}", checked_at=now)
    count = int(monitor.config.get("count", DEFAULT_COUNT))
    interval = float(monitor.config.get("packetInterval", DEFAULT_INTERVAL_S))
    try:
        resolved = await resolve(host, ctx, timeout=monitor.timeout_s, policy=ctx.policy(monitor))
    except ResolveError as exc:
        return CheckResult("DOWN", error=exc.message, checked_at=now)
    slack = min(monitor.timeout_s * SLACK_FRACTION, MAX_SLACK_S)
    remaining = monitor.timeout_s - slack - (resolved.dns_ms or 0.0) / 1000
    # Requests leave on a fixed schedule, so the last one may wait for what is left.
    wait = remaining - (count - 1) * interval
    if wait < MIN_WAIT_S:
        return CheckResult(
            "DOWN",
            error=(
                f"PING: {count} packets {interval:g} s apart do not fit in the "
                f"{monitor.timeout_s:g} s timeout; lower config.count or config.packetInterval"
            ),
            checked_at=now,
        )
    try:
        stats, privileged = await _ping(resolved.address, count=count, interval=interval, wait=wait)
    except icmplib.SocketPermissionError:
        return CheckResult("DOWN", error=NO_ICMP_SOCKET, checked_at=now)
    except icmplib.ICMPLibError as exc:
        return CheckResult("DOWN", error=f"PING: cannot ping {host}: {exc}", checked_at=now)
    status, error = evaluate(stats, monitor.config, host=host)
    timings = _timings(resolved.dns_ms, stats.avg_ms)
    return CheckResult(
        status,
        response_time_ms=round(timings.total) if timings.total is not None else None,
        timings=timings,
        error=error,
        details=_details(stats, address=resolved.address, privileged=privileged),
        checked_at=now,
    )


async def _ping(
    address: str, *, count: int, interval: float, wait: float
) -> tuple[PingStats, bool]:
    """Echo ``count`` times; unprivileged first, raw sockets if the kernel refuses that."""
    for privileged in (False, True):
        try:
            sent, rtts = await echo(
                address, count=count, interval=interval, wait=wait, privileged=privileged
            )
        except icmplib.SocketPermissionError:
            if privileged:
                raise
            continue
        return PingStats(sent, len(rtts), rtts), privileged
    raise AssertionError("unreachable")


def evaluate(
    stats: PingStats, config: Mapping[str, Any], *, host: str
) -> tuple[Status, str | None]:
    """The status of one ping run against the configured limits, and why."""
    if stats.sent == 0:
        return "DOWN", f"PING: could not send any packet to {host} (no route from this worker?)"
    if stats.received == 0:
        return "DOWN", f"PING: no reply from {host} ({_packets(stats.sent)} sent)"
    problems = []
    max_loss = config.get("maxLossPercent")
    if max_loss is not None and stats.loss_percent > max_loss:
        problems.append(
            f"packet loss {stats.loss_percent:.3g}% is over the limit of {max_loss:g}%"
            f" ({stats.received} of {_packets(stats.sent)} answered)"
        )
    max_rtt = config.get("maxAvgRttMs")
    avg = stats.avg_ms
    if max_rtt is not None and avg is not None and avg > max_rtt:
        problems.append(f"average round trip {avg:.3g} ms is over the limit of {max_rtt:g} ms")
    if problems:
        return "DEGRADED", "PING: " + "; ".join(problems)
    return "UP", None


def _timings(dns_ms: float | None, avg_ms: float | None) -> Timings:
    """The lookup, then the average round trip as the time to the reply's first byte.

    Rounded to the µs like the other types, and total is their sum (no reply: no total).
    """
    dns = round(dns_ms, 3) if dns_ms is not None else None
    if avg_ms is None:
        return Timings(dns=dns)
    rtt = round(avg_ms, 3)
    return Timings(dns=dns, ttfb=rtt, total=round((dns or 0.0) + rtt, 3))


def _packets(n: int) -> str:
    return "1 packet" if n == 1 else f"{n} packets"


def _details(stats: PingStats, *, address: str, privileged: bool) -> dict[str, Any]:
    rtts = stats.rtts_ms
    return {
        "address": address,
        "packetsSent": stats.sent,
        "packetsReceived": stats.received,
        "packetLoss": round(stats.loss_percent, 2),
        "minRttMs": round(min(rtts), 3) if rtts else None,
        "avgRttMs": round(stats.avg_ms, 3) if stats.avg_ms is not None else None,
        "maxRttMs": round(max(rtts), 3) if rtts else None,
        "jitterMs": round(stats.jitter_ms, 3) if stats.jitter_ms is not None else None,
        "rttsMs": [round(r, 3) for r in rtts],
        "privileged": privileged,
    }
