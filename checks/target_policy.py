"""Which addresses an organization's checks and alert channels may connect to.

An untrusted organization (the default for organizations created through the API)
may reach public addresses only: loopback, private, link-local (where cloud
metadata services live), CGNAT, unique-local, multicast, unspecified and reserved
addresses are refused, and so are the IPv6 forms that embed such an IPv4 address
(IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64). A trusted organization (the
operator's own; ``vigil admin trust-org``) may reach anything.

The rule is applied to the address a connection is actually opened to, after DNS,
on every redirect hop: callers resolve the name once, judge that address, and then
connect to that same address (never to the name again). A name that answers
differently on the second lookup (DNS rebinding) therefore cannot smuggle a
connection to an internal address past the check.

Pure functions only; the connect points call ``refusal``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "an unspecified ('this network') address"),
    ("127.0.0.0/8", "a loopback address"),
    ("10.0.0.0/8", "a private address"),
    ("172.16.0.0/12", "a private address"),
    ("192.168.0.0/16", "a private address"),
    ("169.254.0.0/16", "a link-local address (where cloud metadata services answer)"),
    ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
)
_V6_RANGES: tuple[tuple[str, str], ...] = (
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("fc00::/7", "a unique-local (private) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
    ("100::/64", "a discard-only address"),
)
_REFUSED: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(cidr), why) for cidr, why in _V4_RANGES + _V6_RANGES
)
# IPv6 forms that carry an IPv4 address in their last 32 bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_V4_COMPATIBLE = ipaddress.ip_network("::/96")

HOW_TO_ALLOW = (
    "an operator can allow internal targets for this organization with "
    "'vigil admin trust-org <organization slug>', or for everyone with "
    "VIGIL_ALLOWED_TARGETS=<network>[,<network>...]"
)


@dataclass(frozen=True)
class TargetPolicy:
    """One organization's rule: ``trusted`` reaches anything; else public plus ``allowed``."""

    trusted: bool
    allowed: tuple[Network, ...] = ()

    def refusal(self, address: str, *, host: str | None = None) -> str | None:
        """Why connecting to ``address`` (resolved from ``host``) is refused; None if allowed."""
        if self.trusted:
            return None
        try:
            ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
        except ValueError:
            return f"Refused to connect to {address!r}: it is not an IP address"
        if any(ip in net for net in self.allowed if net.version == ip.version):
            return None
        why = classify(ip)
        if why is None:
            return None
        named = f"{host} resolves to {ip}" if host and host.strip("[]") != str(ip) else str(ip)
        return (
            f"Refused to connect: {named}, {why}; this organization may reach public "
            f"addresses only ({HOW_TO_ALLOW})"
        )


def classify(ip: Address) -> str | None:
    """What kind of non-public address ``ip`` is, or None for a public one."""
    embedded = _embedded_v4(ip)
    if embedded is not None:
        inner = classify(embedded)
        return None if inner is None else f"which embeds {embedded}, {inner}"
    for net, why in _REFUSED:
        if ip.version == net.version and ip in net:
            return why
    return None


def _embedded_v4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, -compatible, 6to4, Teredo or NAT64 address."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64) or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_networks(text: str | Iterable[str]) -> tuple[Network, ...]:
    """``"10.1.0.0/16, 192.0.2.7"`` as networks (VIGIL_ALLOWED_TARGETS).

    Raises ValueError naming the bad entry and the setting.
    """
    items: Sequence[str] = text.split(",") if isinstance(text, str) else list(text)
    networks = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"VIGIL_ALLOWED_TARGETS: {item!r} is not an IP network; write addresses "
                "or CIDR networks separated by commas, like 10.1.0.0/16,192.0.2.7"
            ) from None
    return tuple(networks)
