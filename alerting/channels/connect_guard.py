"""The target policy for code that opens its own sockets (Apprise's plugins).

Apprise resolves and connects inside its plugins (requests, smtplib, raw sockets),
in its own threads. Python raises an audit event for every ``socket.connect`` and
``socket.sendto`` with the address the socket is about to use, after DNS; a hook
that refuses forbidden addresses there judges exactly what is connected to, for
every plugin, with no second lookup to rebind. The hook only acts inside
``guarded()``: the policy travels in a context variable, which Apprise copies
into the threads it starts. Local sockets (AF_UNIX, the syslog module) are refused
too: they reach this machine's own services.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from checks.target_policy import HOW_TO_ALLOW, TargetPolicy

_ADDRESS_EVENTS = frozenset({"socket.connect", "socket.sendto"})
_LOCAL_EVENTS = frozenset({"syslog.openlog", "syslog.syslog"})


@dataclass
class Guard:
    """One guarded call: its policy and the connections it refused."""

    policy: TargetPolicy
    refusals: list[str] = field(default_factory=list)


_active: ContextVar[Guard | None] = ContextVar("vigil_connect_guard", default=None)
_installed = False
_install_lock = threading.Lock()


class RefusedTarget(PermissionError):
    """Raised inside the library, which reports it as a failed connection."""


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in _ADDRESS_EVENTS and event not in _LOCAL_EVENTS:
        return
    guard = _active.get()
    if guard is None or guard.policy.trusted:
        return
    if event in _LOCAL_EVENTS:
        reason = f"Refused to write to this machine's system log ({HOW_TO_ALLOW})"
    else:
        address = args[1]
        if isinstance(address, tuple) and address and isinstance(address[0], str):
            refused = guard.policy.refusal(address[0])
            if refused is None:
                return
            reason = refused
        else:
            reason = f"Refused to connect to a local socket {address!r} ({HOW_TO_ALLOW})"
    guard.refusals.append(reason)
    raise RefusedTarget(reason)


@contextmanager
def guarded(policy: TargetPolicy) -> Iterator[Guard]:
    """Judge every socket connection made in this context (and threads it copies to)."""
    global _installed
    if not _installed:
        with _install_lock:
            if not _installed:
                # Audit hooks cannot be removed; this one does nothing outside guarded().
                sys.addaudithook(_audit)
                _installed = True
    guard = Guard(policy)
    token = _active.set(guard)
    try:
        yield guard
    finally:
        _active.reset(token)
