"""Monitor type -> check function. Modules are imported on first use."""

from __future__ import annotations

import importlib

from checks.base import CheckFn

MODULES: dict[str, str] = {
    "HTTP": "checks.http",
    "TCP": "checks.tcp",
    "PING": "checks.ping",
    "DNS": "checks.dns",
    "SSL": "checks.ssl",
    "BROWSER": "checks.browser",
}


def check_for(monitor_type: str) -> CheckFn:
    """The ``run`` function of a monitor type's module."""
    try:
        module = importlib.import_module(MODULES[monitor_type])
    except KeyError:
        raise LookupError(f"no check runs monitors of type {monitor_type}") from None
    fn: CheckFn = module.run
    return fn
