"""Turning a target's host name into one address, with the DNS phase timed on its own.

IP literals need no lookup (no DNS phase). Names in the hosts file (``localhost``)
are answered from it, as the system resolver would. Every other name goes to
dnspython's async resolver: A first, AAAA only when the name has no A record.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.message
import dns.nameserver
import dns.rcode
import dns.resolver

from checks.base import CheckContext
from checks.target_policy import TargetPolicy
from checks.timefmt import seconds_text

HOSTS_FILE = "/etc/hosts"


class ResolveError(Exception):
    """A name could not be resolved; ``message`` is what a person sees."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TargetRefused(ResolveError):
    """The name resolved to an address the target policy refuses."""


@dataclass(frozen=True)
class Resolved:
    """The address to connect to; ``dns_ms`` is None when no lookup happened."""

    address: str
    family: socket.AddressFamily
    dns_ms: float | None


# The timeout is a parameter (not asyncio.timeout around the call) so that dnspython
# owns it and the error can say "no answer within N s" instead of a bare cancel.
async def resolve(
    host: str,
    ctx: CheckContext,
    *,
    timeout: float,  # noqa: ASYNC109
    policy: TargetPolicy,
) -> Resolved:
    """Resolve ``host`` to one address that ``policy`` allows, or raise ResolveError.

    The caller must connect to ``Resolved.address`` (not to ``host`` again), so the
    address judged here is the one connected to.
    """
    resolved = await _resolve(host, ctx, timeout=timeout)
    refused = policy.refusal(resolved.address, host=host)
    if refused is not None:
        raise TargetRefused(refused)
    return resolved


async def _resolve(host: str, ctx: CheckContext, *, timeout: float) -> Resolved:  # noqa: ASYNC109
    host = host.strip("[]")
    literal = _ip_literal(host)
    if literal is not None:
        return Resolved(literal[0], literal[1], None)
    started = time.perf_counter()
    from_hosts = _from_hosts_file(host)
    if from_hosts is not None:
        return Resolved(from_hosts[0], from_hosts[1], _ms_since(started))
    async with ctx.dns_limit:
        address, family = await _query(host, ctx.nameservers, lifetime=timeout)
    return Resolved(address, family, _ms_since(started))


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _ip_literal(host: str) -> tuple[str, socket.AddressFamily] | None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return str(ip), socket.AF_INET6 if ip.version == 6 else socket.AF_INET


_hosts_cache: tuple[float, dict[str, list[str]]] = (-1.0, {})


def _hosts_entries() -> dict[str, list[str]]:
    # Re-read only when the file changes: checks run thousands of times a minute.
    global _hosts_cache
    try:
        mtime = os.stat(HOSTS_FILE).st_mtime
    except OSError:
        return {}
    if mtime != _hosts_cache[0]:
        entries: dict[str, list[str]] = {}
        with open(HOSTS_FILE, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split("#", 1)[0].split()
                if len(fields) < 2 or _ip_literal(fields[0].split("%")[0]) is None:
                    continue
                for name in fields[1:]:
                    entries.setdefault(name.lower(), []).append(fields[0].split("%")[0])
        _hosts_cache = (mtime, entries)
    return _hosts_cache[1]


def _from_hosts_file(host: str) -> tuple[str, socket.AddressFamily] | None:
    addresses = _hosts_entries().get(host.lower().rstrip("."))
    if not addresses:
        return None
    literals = [lit for lit in map(_ip_literal, addresses) if lit is not None]
    # Same preference as DNS: IPv4 first, IPv6 only when there is no IPv4.
    literals.sort(key=lambda lit: lit[1] != socket.AF_INET)
    return literals[0]


def resolver_for(nameservers: tuple[str, ...]) -> dns.asyncresolver.Resolver:
    """A resolver asking ``nameservers`` (``host`` or ``host:port``); empty: the system's."""
    if not nameservers:
        return dns.asyncresolver.Resolver()
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [_nameserver(ns) for ns in nameservers]
    return resolver


def _nameserver(spec: str) -> dns.nameserver.Nameserver:
    host, port = spec, 53
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 53
    elif spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        port = int(port_text)
    return dns.nameserver.Do53Nameserver(host, port)


async def _query(
    host: str, nameservers: tuple[str, ...], *, lifetime: float
) -> tuple[str, socket.AddressFamily]:
    resolver = resolver_for(nameservers)
    deadline = time.monotonic() + lifetime
    for rdtype, family in (("A", socket.AF_INET), ("AAAA", socket.AF_INET6)):
        remaining = max(deadline - time.monotonic(), 0.001)
        try:
            answer = await resolver.resolve(host, rdtype, lifetime=remaining, search=False)
        except dns.resolver.NoAnswer:
            continue
        except dns.resolver.NXDOMAIN:
            raise ResolveError(f"DNS: NXDOMAIN for {host}") from None
        except dns.exception.Timeout:
            raise ResolveError(
                f"DNS: no answer for {host} within {seconds_text(lifetime)}"
            ) from None
        except dns.resolver.NoNameservers as exc:
            raise ResolveError(f"DNS: {_failure_rcode(exc)} for {host}") from None
        except dns.exception.DNSException as exc:
            raise ResolveError(f"DNS: lookup of {host} failed ({exc})") from None
        for rdata in answer:
            return str(rdata.address), family
    raise ResolveError(f"DNS: no A/AAAA records for {host}")


def _failure_rcode(exc: dns.resolver.NoNameservers) -> str:
    """The rcode the nameservers answered with (SERVFAIL, REFUSED, ...)."""
    for error in exc.kwargs.get("errors", []):
        response = error[4] if len(error) > 4 else None
        if isinstance(response, dns.message.Message):
            return dns.rcode.to_text(response.rcode())
    return "no usable answer"
