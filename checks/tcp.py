"""TCP check: resolve, connect, optionally send a line and expect text back (a banner).

URL ``tcp://host:port``. Phases: dns, tcp (connect), then with ``config.expect``
ttfb (connected -> first reply byte) and download (first byte -> expected text seen).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from checks.base import CheckContext, CheckResult, MonitorSpec, Timings
from checks.http_config import validate_config
from checks.neterrors import connect_failure
from checks.resolve import ResolveError, resolve
from checks.timefmt import seconds_text

MAX_REPLY_BYTES = 65_536
EVIDENCE_CHARS = 2048


class _Failed(Exception):
    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


async def run(monitor: MonitorSpec, ctx: CheckContext) -> CheckResult:
    checked_at = ctx.clock.now()
    try:
        result = await _check(monitor, ctx)
    except _Failed as exc:
        result = CheckResult("DOWN", error=exc.message, details=exc.details)
    result.checked_at = checked_at
    return result


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None:
        raise _Failed(f"Invalid URL {url!r}: use tcp://host:port, like tcp://db.example.com:5432")
    return parts.hostname, port


async def _check(monitor: MonitorSpec, ctx: CheckContext) -> CheckResult:
    issues = validate_config(monitor.config, monitor_type="TCP")
    if issues:
        listed = "; ".join(f"{field} {issue}" for field, issue in issues)
        raise _Failed(f"Invalid monitor config: {listed}. Fix the monitor.")
    host, port = _target(monitor.url)
    send, expect = monitor.config.get("send"), monitor.config.get("expect")
    deadline = time.monotonic() + monitor.timeout_s
    started = time.perf_counter()
    try:
        resolved = await resolve(host, ctx, timeout=monitor.timeout_s, policy=ctx.policy(monitor))
    except ResolveError as exc:
        raise _Failed(exc.message) from None
    dns_done = time.perf_counter()
    details: dict[str, Any] = {"resolvedIp": resolved.address, "port": port}
    reader, writer = await _connect(resolved.address, port, host, deadline, monitor, details)
    connected = time.perf_counter()
    try:
        if send:
            writer.write(send.encode())
            await writer.drain()
        reply = _Reply()
        if expect:
            reply = await _read_reply(reader, expect, deadline=deadline)
    except OSError as exc:
        raise _Failed(
            f"Connection lost after connecting: {exc.strerror or exc}", **details
        ) from None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    timings = _timings(started, dns_done, connected, reply, looked_up=resolved.dns_ms is not None)
    if expect:
        _judge_reply(reply, expect, monitor.timeout_s, details)
    return CheckResult(
        "UP",
        response_time_ms=round(timings.total or 0),
        timings=timings,
        size_bytes=len(reply.data) if expect else None,
        details=details,
    )


async def _connect(
    address: str,
    port: int,
    host: str,
    deadline: float,
    monitor: MonitorSpec,
    details: dict[str, Any],
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
            return await asyncio.open_connection(address, port)
    except TimeoutError:
        message = f"Connection timed out after {seconds_text(monitor.timeout_s)}"
        raise _Failed(message, **details) from None
    except OSError as exc:
        message = connect_failure(exc, host=host) or f"Connection failed: {exc}"
        raise _Failed(message, **details) from None


@dataclass
class _Reply:
    data: bytes = b""
    first_byte: float | None = None  # time.perf_counter() of the first byte
    matched: float | None = None  # ... of the moment the expected text was complete
    timed_out: bool = False


async def _read_reply(reader: asyncio.StreamReader, expect: str, *, deadline: float) -> _Reply:
    """Read until ``expect`` appears, the server closes, the deadline, or 64 KiB."""
    wanted = expect.encode()
    reply = _Reply()
    try:
        async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
            while len(reply.data) < MAX_REPLY_BYTES:
                chunk = await reader.read(MAX_REPLY_BYTES - len(reply.data))
                if not chunk:
                    break
                reply.first_byte = reply.first_byte or time.perf_counter()
                reply.data += chunk
                if wanted in reply.data:
                    reply.matched = time.perf_counter()
                    break
    except TimeoutError:
        reply.timed_out = True
    return reply


def _judge_reply(reply: _Reply, expect: str, timeout_s: float, details: dict[str, Any]) -> None:
    text = reply.data.decode("utf-8", errors="replace")
    details["reply"] = text[:EVIDENCE_CHARS]
    if reply.matched is not None:
        return
    within = f" within {seconds_text(timeout_s)}" if reply.timed_out else ""
    raise _Failed(
        f"Expected {_quoted(expect)} in the reply{within}, got {_quoted(text)}", **details
    )


def _quoted(text: str) -> str:
    shown = text[:200].replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
    return f"'{shown}{'...' if len(text) > 200 else ''}'"


def _timings(
    started: float,
    dns_done: float,
    connected: float,
    reply: _Reply,
    *,
    looked_up: bool,
) -> Timings:
    first_byte, matched = reply.first_byte, reply.matched
    end = matched or connected
    return Timings(
        dns=_ms(dns_done - started) if looked_up else None,
        tcp=_ms(connected - (dns_done if looked_up else started)),
        ttfb=_ms(first_byte - connected) if first_byte and matched else None,
        download=_ms(matched - first_byte) if first_byte and matched else None,
        total=_ms(end - started),
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
