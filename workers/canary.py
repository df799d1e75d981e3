"""A worker's check of its own connectivity, so a sick probe does not page for everyone.

``VIGIL_CANARY_TARGETS`` lists ``host:port`` targets the operator chooses (e.g. the
region's resolver and two well-known hosts): ``"10.0.0.2:53,1.1.1.1:443"`` for every
region, or per region ``"us-east-1=10.0.0.2:53,1.1.1.1:443;eu-west-1=..."`` (an entry
without ``region=`` applies to the regions not named). Every ``VIGIL_CANARY_EVERY_S``
(5) the worker opens a TCP connection to each; it is unhealthy while more than half
of them cannot be reached within ``CONNECT_TIMEOUT_S``. No targets: no canary.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence

from checks.neterrors import connect_failure
from checks.target import HostPort, TargetError, parse_host_port

CONNECT_TIMEOUT_S = 2.0
DEFAULT_EVERY_S = 5.0


def targets_for(region: str, *, environ: Mapping[str, str] | None = None) -> tuple[HostPort, ...]:
    """The canary targets of ``region`` from ``VIGIL_CANARY_TARGETS``."""
    env = os.environ if environ is None else environ
    raw = env.get("VIGIL_CANARY_TARGETS", "").strip()
    default: str | None = None
    for entry in filter(None, (e.strip() for e in raw.split(";"))):
        name, sep, listed = entry.partition("=")
        if not sep:
            default = entry
        elif name.strip() == region:
            return _parse(listed)
    return _parse(default or "")


def every_s(*, environ: Mapping[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    raw = env.get("VIGIL_CANARY_EVERY_S", str(DEFAULT_EVERY_S))
    try:
        return max(0.5, float(raw))
    except ValueError:
        raise ValueError(
            f"VIGIL_CANARY_EVERY_S={raw!r} is not a number; set the seconds between a "
            f"worker's checks of its own connectivity (default {DEFAULT_EVERY_S:g})"
        ) from None


def _parse(listed: str) -> tuple[HostPort, ...]:
    out = []
    for text in filter(None, (t.strip() for t in listed.split(","))):
        try:
            out.append(parse_host_port(text, default_port=0))
        except TargetError as exc:
            raise ValueError(f"VIGIL_CANARY_TARGETS: {text!r}: {exc}") from None
        if out[-1].port == 0:
            raise ValueError(f"VIGIL_CANARY_TARGETS: {text!r} needs a port (host:port)")
    return tuple(out)


async def probe(targets: Sequence[HostPort]) -> str | None:
    """None while the worker is healthy, else why not (naming the unreachable targets)."""
    if not targets:
        return None
    outcomes = await asyncio.gather(*(_reach(t) for t in targets))
    failed = [f"{t} ({why})" for t, why in zip(targets, outcomes, strict=True) if why]
    if len(failed) * 2 <= len(targets):
        return None
    return (
        f"canary: {len(failed)} of {len(targets)} connectivity targets unreachable "
        f"from this worker: {', '.join(failed)}"
    )


async def _reach(target: HostPort) -> str | None:
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            _, writer = await asyncio.open_connection(target.host, target.port)
    except TimeoutError:
        return f"no connection within {CONNECT_TIMEOUT_S:g} s"
    except OSError as exc:
        return connect_failure(exc, host=target.host) or str(exc)
    writer.close()
    return None
