"""DNS check: ask one nameserver for one record type and compare the answer.

``monitor.url`` is the name (an IP address for PTR); ``monitor.config`` holds
``recordType`` (default A), ``nameserver`` ("host" or "host:port"; default the
context's nameservers, else /etc/resolv.conf), ``expectedValues`` and ``matchMode``
(any | all | exact). Values compare case-insensitively, without trailing dots or
TXT quotes.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename

from checks.base import CheckContext, CheckResult, MonitorSpec, Timings
from checks.dns_transport import NameserverRefusedError, exchange
from checks.target import HostPort, TargetError, is_ip, parse_host_port
from checks.target_policy import TargetPolicy

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "SRV", "CAA", "PTR")
MATCH_MODES = ("any", "all", "exact")


class DnsQueryError(Exception):
    """No usable reply: every nameserver timed out or could not be reached."""


@dataclass(frozen=True)
class Answer:
    """One nameserver's reply, reduced to what a person checks."""

    nameserver: HostPort
    rcode: str
    rdtype: str
    values: list[str]
    ttl: int | None
    canonical_name: str
    elapsed_ms: float
    over_tcp: bool


def validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, issue) pairs for a DNS monitor's config; empty when it is valid."""
    issues: list[tuple[str, str]] = []
    record_type = config.get("recordType", "A")
    if not isinstance(record_type, str) or record_type.upper() not in RECORD_TYPES:
        issues.append(("config.recordType", f"must be one of {', '.join(RECORD_TYPES)}"))
    nameserver = config.get("nameserver")
    if nameserver is not None:
        if not isinstance(nameserver, str):
            issues.append(("config.nameserver", 'must be a string "host" or "host:port"'))
        else:
            try:
                parse_host_port(nameserver, default_port=53)
            except TargetError as exc:
                issues.append(("config.nameserver", str(exc)))
    expected = config.get("expectedValues")
    if expected is not None and (
        not isinstance(expected, list) or not all(isinstance(v, str) and v for v in expected)
    ):
        issues.append(("config.expectedValues", "must be a list of non-empty strings"))
    mode = config.get("matchMode", "any")
    if mode not in MATCH_MODES:
        issues.append(("config.matchMode", f"must be one of {', '.join(MATCH_MODES)}"))
    return issues


async def run(monitor: MonitorSpec, ctx: CheckContext) -> CheckResult:
    checked_at = ctx.clock.now()
    issues = validate_config(monitor.config)
    if issues:
        field, issue = issues[0]
        return CheckResult("DOWN", error=f"DNS: {field} {issue}", checked_at=checked_at)
    rdtype = str(monitor.config.get("recordType", "A")).upper()
    try:
        qname = query_name(monitor.url, rdtype)
    except (dns.exception.DNSException, ValueError) as exc:
        return CheckResult(
            "DOWN", error=f"DNS: {monitor.url!r} is not a valid name ({exc})", checked_at=checked_at
        )
    shown = qname.to_text(omit_final_dot=True)
    try:
        servers = await nameservers(
            monitor.config.get("nameserver"), ctx, policy=ctx.policy(monitor)
        )
        answer = await lookup(qname, rdtype, servers, timeout_s=monitor.timeout_s, ctx=ctx)
    except DnsQueryError as exc:
        return CheckResult("DOWN", error=f"DNS: {exc}", checked_at=checked_at)
    details: dict[str, Any] = {
        "name": shown,
        "recordType": rdtype,
        "nameserver": str(answer.nameserver),
        "rcode": answer.rcode,
        "transport": "tcp" if answer.over_tcp else "udp",
        "answer": {"type": rdtype, "values": answer.values, "ttl": answer.ttl},
    }
    if answer.canonical_name.rstrip(".") != shown:
        details["canonicalName"] = answer.canonical_name.rstrip(".")
    ms = round(answer.elapsed_ms, 3)
    result = CheckResult(
        "UP",
        response_time_ms=round(answer.elapsed_ms),
        timings=Timings(dns=ms, total=ms),
        details=details,
        checked_at=checked_at,
    )
    result.error = _problem(answer, shown, monitor.config)
    if result.error is not None:
        result.status = "DOWN"
    return result


def _problem(answer: Answer, name: str, config: Mapping[str, Any]) -> str | None:
    ns = answer.nameserver
    target = answer.canonical_name.rstrip(".")
    aliased = bool(target) and target.lower() != name.lower()
    if answer.rcode == "NXDOMAIN" and aliased:
        return f"DNS: {name} is a CNAME to {target}, which does not exist (NXDOMAIN)"
    if answer.rcode == "NXDOMAIN":
        return f"DNS: NXDOMAIN for {name}"
    if answer.rcode == "SERVFAIL":
        return f"DNS: SERVFAIL from {ns} for {name}"
    if answer.rcode == "REFUSED":
        return f"DNS: REFUSED by {ns} for {name}"
    if answer.rcode != "NOERROR":
        return f"DNS: {answer.rcode} from {ns} for {name}"
    if not answer.values and aliased:
        return f"DNS: {name} is a CNAME to {target}, which has no {answer.rdtype} records"
    if not answer.values:
        return f"DNS: no {answer.rdtype} records for {name}"
    expected = config.get("expectedValues")
    if not expected:
        return None
    return mismatch(list(expected), answer.values, mode=str(config.get("matchMode", "any")))


def mismatch(expected: Sequence[str], actual: Sequence[str], *, mode: str) -> str | None:
    """Why ``actual`` fails ``expected`` under ``mode``, or None when it matches."""
    want = {normalise(v) for v in expected}
    have = {normalise(v) for v in actual}
    shown_expected, shown_actual = ", ".join(expected), ", ".join(actual)
    if mode == "any" and not want & have:
        return f"DNS: expected any of [{shown_expected}], got [{shown_actual}]"
    if mode == "all" and not want <= have:
        missing = ", ".join(v for v in expected if normalise(v) not in have)
        return f"DNS: expected all of [{shown_expected}], missing [{missing}], got [{shown_actual}]"
    if mode == "exact" and want != have:
        return f"DNS: expected exactly [{shown_expected}], got [{shown_actual}]"
    return None


def normalise(value: str) -> str:
    """The form values compare in: lower case, no quotes, no trailing dots, single spaces."""
    words = value.replace('"', " ").lower().split()
    return " ".join(w.rstrip(".") or w for w in words)


def query_name(target: str, rdtype: str) -> dns.name.Name:
    """The name to ask for: a URL's host, or an IP's reverse name for PTR."""
    text = target.strip()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    if not text:
        raise ValueError("no name given")
    if rdtype == "PTR" and is_ip(text):
        return dns.reversename.from_address(text)
    return dns.name.from_text(text)


async def nameservers(
    configured: object, ctx: CheckContext, *, policy: TargetPolicy
) -> list[HostPort]:
    """The monitor's nameserver, else the context's, else the system's, as IP:port.

    Only the monitor's own nameserver is judged by ``policy``: the others are the
    operator's (VIGIL settings, resolv.conf), often a local resolver by design.
    """
    if isinstance(configured, str) and configured:
        target = _nameserver_target(configured)
        server = await _by_address(target)
        # The query goes to this address: judge it, not the name.
        refused = policy.refusal(server.host, host=target.host)
        if refused is not None:
            raise DnsQueryError(f"nameserver {configured}: {refused}")
        return [server]
    texts = ctx.nameservers or _system_nameservers()
    if not texts:
        raise DnsQueryError(
            "no nameserver to ask: set config.nameserver or list one in /etc/resolv.conf"
        )
    return [await _by_address(_nameserver_target(text)) for text in texts]


def _nameserver_target(text: str) -> HostPort:
    try:
        return parse_host_port(text, default_port=53)
    except TargetError as exc:
        raise DnsQueryError(f"nameserver {exc}") from None


async def _by_address(target: HostPort) -> HostPort:
    if is_ip(target.host):
        return target
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            target.host, target.port, type=socket.SOCK_DGRAM
        )
    except OSError as exc:
        raise DnsQueryError(f"cannot find the address of nameserver {target.host}: {exc}") from None
    return HostPort(str(infos[0][4][0]), target.port)


@functools.cache
def _system_nameservers() -> tuple[str, ...]:
    # Read once per process: the system's nameservers change rarely and this is on every check.
    try:
        resolver = dns.resolver.Resolver()
    except dns.resolver.NoResolverConfiguration:
        return ()
    return tuple(str(ns) for ns in resolver.nameservers)


async def lookup(
    qname: dns.name.Name,
    rdtype: str,
    servers: Sequence[HostPort],
    *,
    timeout_s: float,
    ctx: CheckContext,
) -> Answer:
    """Ask the servers in turn (sharing ``timeout_s``) until one gives a usable answer.

    Raises DnsQueryError when none replies in time or none can be reached.
    """
    query = dns.message.make_query(qname, dns.rdatatype.from_text(rdtype), use_edns=0)
    deadline = time.monotonic() + timeout_s
    started = time.perf_counter()
    answer: Answer | None = None
    failures: list[str] = []
    timed_out: list[str] = []
    for index, server in enumerate(servers):
        budget = (deadline - time.monotonic()) / (len(servers) - index)
        if budget <= 0:
            timed_out.append(str(server))
            continue
        try:
            async with ctx.dns_limit:
                reply, over_tcp = await exchange(query, server, timeout_s=budget)
        except dns.exception.Timeout:
            timed_out.append(str(server))
            continue
        except NameserverRefusedError:
            failures.append(f"{server} (refused: nothing listens on that port)")
            continue
        except (OSError, dns.exception.DNSException) as exc:
            failures.append(f"{server} ({exc or type(exc).__name__})")
            continue
        elapsed = (time.perf_counter() - started) * 1000
        answer = _reduce(reply, rdtype, server, elapsed_ms=elapsed, over_tcp=over_tcp)
        if answer.rcode not in ("SERVFAIL", "REFUSED"):
            break
    if answer is not None:
        return answer
    if timed_out and not failures:
        raise DnsQueryError(f"no answer from {', '.join(timed_out)} within {timeout_s:g} s")
    parts = [f"could not query {', '.join(failures)}"]
    if timed_out:
        parts.append(f"no answer from {', '.join(timed_out)} within {timeout_s:g} s")
    raise DnsQueryError("; ".join(parts))


def _reduce(
    reply: dns.message.Message,
    rdtype: str,
    server: HostPort,
    *,
    elapsed_ms: float,
    over_tcp: bool,
) -> Answer:
    rcode = dns.rcode.to_text(reply.rcode())
    values: list[str] = []
    ttl: int | None = None
    canonical = reply.question[0].name.to_text() if reply.question else ""
    # NXDOMAIN too: its chain names the missing CNAME target (RFC 6604).
    if rcode in ("NOERROR", "NXDOMAIN") and isinstance(reply, dns.message.QueryMessage):
        try:
            chain = reply.resolve_chaining()
        except dns.exception.DNSException:
            chain = None
        if chain is not None:
            canonical = chain.canonical_name.to_text()
            if chain.answer is not None:
                ttl = chain.minimum_ttl
                values = sorted(_value(rd) for rd in chain.answer)
    return Answer(server, rcode, rdtype, values, ttl, canonical, elapsed_ms, over_tcp)


def _value(rdata: Any) -> str:
    if rdata.rdtype == dns.rdatatype.TXT:
        return "".join(s.decode("utf-8", "replace") for s in rdata.strings)
    return str(rdata.to_text())
