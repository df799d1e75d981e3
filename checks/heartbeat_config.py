"""HEARTBEAT monitors: their settings and when the next ping is due.

A heartbeat expects a ping every ``interval`` seconds, or on ``config.cron`` in
``config.timezone``; ``config.grace`` seconds (default 60) more are allowed before
the monitor is DOWN. The schedule math is APScheduler's CronTrigger.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

DEFAULT_GRACE_S = 60
MAX_GRACE_S = 7 * 24 * 3600
KNOWN_KEYS = frozenset({"grace", "cron", "timezone"})


def validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, issue) pairs for a HEARTBEAT monitor's ``config``."""
    issues: list[tuple[str, str]] = []
    grace = config.get("grace")
    if grace is not None and (
        not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= MAX_GRACE_S
    ):
        issues.append(("config.grace", f"must be a whole number of seconds, 0 to {MAX_GRACE_S}"))
    tz_name = config.get("timezone")
    if tz_name is not None:
        if not isinstance(tz_name, str) or not _zone_ok(tz_name):
            issues.append(("config.timezone", "must be an IANA time zone such as Europe/Berlin"))
        elif config.get("cron") is None:
            issues.append(("config.timezone", "only applies together with config.cron"))
    cron = config.get("cron")
    if cron is not None:
        if not isinstance(cron, str):
            issues.append(("config.cron", "must be a cron expression such as '0 3 * * *'"))
        else:
            try:
                CronTrigger.from_crontab(cron, timezone="UTC")
            except ValueError as exc:
                issues.append(("config.cron", f"is not a valid cron expression: {exc}"))
    for key in sorted(set(config) - KNOWN_KEYS):
        issues.append((f"config.{key}", "is not a HEARTBEAT setting (grace, cron, timezone)"))
    return issues


def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def grace_s(config: Mapping[str, Any]) -> int:
    value = config.get("grace")
    return value if isinstance(value, int) else DEFAULT_GRACE_S


def next_expected(config: Mapping[str, Any], interval_s: int, after: datetime) -> datetime:
    """When the next ping is expected, given the last one (or creation) at ``after``."""
    cron = config.get("cron")
    if isinstance(cron, str):
        trigger = CronTrigger.from_crontab(cron, timezone=config.get("timezone") or "UTC")
        fire: datetime | None = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
        if fire is not None:
            return fire
    return after + timedelta(seconds=interval_s)


def deadline(config: Mapping[str, Any], interval_s: int, after: datetime) -> datetime:
    """The moment the monitor goes DOWN without a ping: next expected + grace."""
    return next_expected(config, interval_s, after) + timedelta(seconds=grace_s(config))
