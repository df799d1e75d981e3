"""Sample alert events: one incident of "Production API", down then recovered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alerting.channels.base import AlertEvent

STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RESOLVED = STARTED + timedelta(minutes=4, seconds=12)


def down_event(**changes: object) -> AlertEvent:
    """Production API went down at 12:00 UTC in two regions."""
    event = AlertEvent(
        id="evt_down_1",
        type="monitor.down",
        monitor_id="mon_1",
        monitor_name="Production API",
        monitor_url="https://api.example.com/health",
        occurred_at=STARTED,
        incident_id="inc_1",
        cause="Connection refused",
        regions=("eu-west", "us-east"),
        started_at=STARTED,
    )
    return replace(event, **changes)  # type: ignore[arg-type]


def up_event(**changes: object) -> AlertEvent:
    """The same incident, resolved 4 min 12 s later."""
    event = down_event(
        id="evt_up_1",
        type="monitor.up",
        occurred_at=RESOLVED,
        resolved_at=RESOLVED,
        duration_s=252,
    )
    return replace(event, **changes)  # type: ignore[arg-type]
