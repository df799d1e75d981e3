"""The wording of every alert, shared by all channels so they say the same thing.

``title(event)`` is the one-line subject (``[DOWN] Production API (https://...)``);
``fields(event)`` the labelled facts (target, cause, regions, times, duration);
``summary_lines(event)`` and ``text(event)`` the plain-text body built from both.
"""

from __future__ import annotations

from datetime import datetime

from alerting.channels.base import AlertEvent, EventType
from store.clock import utc

_LABELS: dict[EventType, str] = {
    "monitor.down": "DOWN",
    "monitor.up": "RECOVERED",
    "monitor.degraded": "DEGRADED",
    "ssl.expiring": "SSL EXPIRING",
    "heartbeat.missed": "HEARTBEAT MISSED",
    "channel.failing": "CHANNEL FAILING",
    "ai.budget_exceeded": "AI BUDGET",
    "monitor.flapping": "FLAPPING",
    "monitor.stable": "STABLE",
    "worker.unhealthy": "PROBE UNHEALTHY",
    "test": "TEST",
}

_UNITS = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))


def label(event: AlertEvent) -> str:
    """The state in capitals, as a person scanning an inbox looks for it."""
    if event.is_reminder and event.type == "monitor.down":
        return "STILL DOWN"
    return _LABELS.get(event.type, event.type.upper())


def title(event: AlertEvent) -> str:
    """``[DOWN] Production API (https://api.example.com/health)``."""
    target = f" ({event.monitor_url})" if event.monitor_url else ""
    # One line: an email subject (or a chat title) cannot carry a line break.
    return " ".join(f"[{label(event)}] {event.monitor_name}{target}".split())


def headline(event: AlertEvent) -> str:
    """One sentence saying what happened."""
    name = event.monitor_name
    if event.type == "monitor.up":
        duration = outage_duration(event)
        if event.details.get("downUndelivered") and event.started_at and event.resolved_at:
            # The receiver never heard of the outage: say what it missed.
            return (
                f"{name} has RECOVERED: it was down from {iso(event.started_at)} to "
                f"{iso(event.resolved_at)} ({duration}); the DOWN alert could not be delivered."
            )
        return f"{name} has RECOVERED" + (f": down for {duration}." if duration else ".")
    if event.type == "channel.failing":
        return (
            f"Alerts to the channel {name} are not getting through (failing since "
            f"{iso(event.started_at or event.occurred_at)}). Fix the channel; failed alerts "
            "are listed by GET /api/alert-deliveries?status=failed and can be resent."
        )
    if event.type == "monitor.down":
        return f"{name} is still DOWN." if event.is_reminder else f"{name} is DOWN."
    if event.type == "monitor.degraded":
        return f"{name} is DEGRADED."
    if event.type == "ssl.expiring":
        return f"The TLS certificate of {name} is EXPIRING."
    if event.type == "heartbeat.missed":
        return f"{name} MISSED its heartbeat: no ping arrived in time."
    if event.type == "ai.budget_exceeded":
        level, period = event.details.get("level"), event.details.get("period")
        what = "has EXCEEDED" if level == 100 else f"is at {level} % of"
        return f"{name} {what} its {period} AI budget."
    if event.type == "monitor.flapping":
        return f"{name} is FLAPPING: its state keeps changing."
    if event.type == "worker.unhealthy":
        return f"{name} cannot reach its canary targets: its own network looks broken."
    if event.type == "monitor.stable":
        state = event.details.get("state", "")
        return f"{name} is STABLE again" + (f", and {state}." if state else ".")
    return f"TEST alert from Vigil for {name}: this channel works."


def fields(event: AlertEvent) -> list[tuple[str, str]]:
    """The labelled facts of the event, in reading order; absent facts are left out."""
    out: list[tuple[str, str]] = [("Monitor", event.monitor_name)]
    if event.monitor_url:
        out.append(("Target", event.monitor_url))
    out.append(("Status", label(event)))
    if event.cause:
        out.append(("Cause", event.cause))
    if event.regions:
        out.append(("Regions", ", ".join(event.regions)))
    if event.started_at is not None:
        out.append(("Started", format_time(event.started_at)))
    if event.type == "monitor.up":
        if event.resolved_at is not None:
            out.append(("Resolved", format_time(event.resolved_at)))
        duration = outage_duration(event)
        if duration:
            out.append(("Down for", duration))
    return out


def summary_lines(event: AlertEvent) -> list[str]:
    """The headline, then one ``Label: value`` line per fact."""
    return [headline(event), *(f"{name}: {value}" for name, value in fields(event))]


def text(event: AlertEvent) -> str:
    """A plain-text message body: the summary and where it came from."""
    lines = summary_lines(event)
    return "\n".join([lines[0], "", *lines[1:], "", f"-- Vigil, event {event.id}"])


def outage_duration(event: AlertEvent) -> str | None:
    """``4 min 12 s`` from the event's duration, or from its start and resolve times."""
    seconds = event.duration_s
    if seconds is None and event.started_at is not None and event.resolved_at is not None:
        seconds = int((event.resolved_at - event.started_at).total_seconds())
    return None if seconds is None else format_duration(seconds)


def format_duration(seconds: float) -> str:
    """The two largest units that matter: ``45 s``, ``4 min 12 s``, ``2 h``, ``1 d 3 h``."""
    remaining = max(0, int(seconds))
    parts: list[str] = []
    for unit, size in _UNITS:
        amount, remaining = divmod(remaining, size)
        if parts:
            if amount:
                parts.append(f"{amount} {unit}")
            break
        if amount:
            parts.append(f"{amount} {unit}")
    return " ".join(parts) or "0 s"


def iso(value: datetime) -> str:
    """UTC ISO 8601 with a ``Z``, as machines read it: ``2026-03-01T12:00:00Z``."""
    return utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")


def format_time(value: datetime) -> str:
    """``2026-03-01T12:00:00Z (Sunday 1 March 2026, 12:00:00 UTC)``."""
    when = utc(value)
    human = f"{when:%A} {when.day} {when:%B %Y, %H:%M:%S} UTC"
    return f"{iso(when)} ({human})"
