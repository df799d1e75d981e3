"""The plan table from the API reference: rate limits, monitor counts, intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Plan = Literal["FREE", "PRO", "BUSINESS", "ENTERPRISE"]
PLANS: tuple[Plan, ...] = ("FREE", "PRO", "BUSINESS", "ENTERPRISE")


@dataclass(frozen=True)
class PlanLimits:
    requests_per_minute: int
    monitor_limit: int | None
    min_interval_s: int
    browser_allowed: bool
    # Organizations it may create through the API (the operator creates any number).
    orgs_allowed: int


LIMITS: dict[Plan, PlanLimits] = {
    "FREE": PlanLimits(60, 5, 300, False, 0),
    "PRO": PlanLimits(300, 50, 60, False, 1),
    "BUSINESS": PlanLimits(1000, 200, 30, True, 3),
    "ENTERPRISE": PlanLimits(5000, None, 15, True, 10),
}

MAX_INTERVAL_S = 3600


def limits_for(plan: str) -> PlanLimits:
    """Limits of a plan; unknown names fall back to FREE, the most restrictive."""
    for name, limits in LIMITS.items():
        if name == plan:
            return limits
    return LIMITS["FREE"]
