"""Per-plan limits of AI ingest: events per monitor per UTC day, and per minute.

The daily limit is counted in the store (exact across API processes); the
per-minute limit guards one API process against a flood on a guessable monitor
id, like heartbeat pings, and is counted in that process's memory.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AiLimits:
    daily_events: int
    events_per_minute: int


AI_LIMITS: dict[str, AiLimits] = {
    "FREE": AiLimits(daily_events=10_000, events_per_minute=600),
    "PRO": AiLimits(daily_events=100_000, events_per_minute=6_000),
    "BUSINESS": AiLimits(daily_events=1_000_000, events_per_minute=30_000),
    "ENTERPRISE": AiLimits(daily_events=10_000_000, events_per_minute=300_000),
}


def ai_limits_for(plan: str) -> AiLimits:
    """Limits of a plan; unknown names fall back to FREE, the most restrictive."""
    return AI_LIMITS.get(plan, AI_LIMITS["FREE"])
