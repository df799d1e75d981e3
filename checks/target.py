"""Parsing a check's target ("host", "host:port", "[v6]:port", "scheme://host:port/...")."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class TargetError(ValueError):
    """A target string that names no host or carries a bad port."""


def parse_host_port(text: str, *, default_port: int) -> HostPort:
    """Split a target into host and port; a URL's scheme and path are dropped.

    Raises TargetError with a message a person can act on.
    """
    raw = text.strip()
    if not raw:
        raise TargetError("the target is empty: give a host name, host:port or URL")
    if "://" in raw:
        parts = urlsplit(raw)
        try:
            port = parts.port
        except ValueError:
            raise TargetError(f"{raw!r} has a port that is not a number from 1 to 65535") from None
        if not parts.hostname:
            raise TargetError(f"{raw!r} names no host")
        return HostPort(parts.hostname, port or default_port)
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep:
            raise TargetError(f"{raw!r} opens '[' for an IPv6 address but never closes it")
        if rest and not rest.startswith(":"):
            raise TargetError(f"{raw!r} has text after ']' that is not ':port'")
        return HostPort(host, _port(rest[1:], raw) if rest else default_port)
    if raw.count(":") > 1:
        return HostPort(raw, default_port)  # a bare IPv6 address
    host, sep, port_text = raw.partition(":")
    if not host:
        raise TargetError(f"{raw!r} names no host")
    return HostPort(host, _port(port_text, raw) if sep else default_port)


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise TargetError(f"{whole!r} has a port that is not a number from 1 to 65535")
    return int(text)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
