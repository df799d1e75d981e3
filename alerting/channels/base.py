"""The one interface every alert channel implements.

``async def deliver(channel: ChannelSpec, event: AlertEvent, ctx: DeliveryContext) -> Delivery``

``deliver`` never raises for a receiver's failure: it returns ``Delivery(ok=False, ...)``
with an error a person can act on; ``permanent=True`` tells the dispatcher that
retrying cannot help (a malformed URL, a rejected routing key).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from checks.target_policy import Network, TargetPolicy

EventType = Literal[
    "monitor.down",
    "monitor.up",
    "monitor.degraded",
    "ssl.expiring",
    "heartbeat.missed",
    "channel.failing",
    "ai.budget_exceeded",
    "monitor.flapping",
    "monitor.stable",
    "worker.unhealthy",
    "test",
    # To status page subscribers (alerting/channels/subscriber.py).
    "incident.opened",
    "incident.updated",
    "incident.resolved",
    "maintenance.scheduled",
    "subscription.confirm",
]


@dataclass(frozen=True)
class ChannelSpec:
    id: str
    name: str
    type: str
    config: Mapping[str, Any]
    # Whether the channel's organization may reach internal addresses; fails closed.
    trusted: bool = False


@dataclass(frozen=True)
class AlertEvent:
    """One state change to tell people about. ``id`` is stable across retries."""

    id: str
    type: EventType
    monitor_id: str
    monitor_name: str
    monitor_url: str
    occurred_at: datetime
    incident_id: str | None = None
    cause: str | None = None
    regions: tuple[str, ...] = ()
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    duration_s: int | None = None
    is_reminder: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    error: str | None = None
    permanent: bool = False
    status_code: int | None = None


@dataclass(frozen=True)
class DeliveryContext:
    """Settings channels need that do not belong to one channel."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "vigil@localhost"
    smtp_starttls: bool = False
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    timeout_s: float = 10.0
    ssl_context: ssl.SSLContext = field(default_factory=ssl.create_default_context)
    # Networks every organization's channels may reach (VIGIL_ALLOWED_TARGETS).
    allowed_targets: tuple[Network, ...] = ()

    def policy(self, channel: ChannelSpec) -> TargetPolicy:
        """The target policy for a URL the channel's organization chose."""
        return TargetPolicy(trusted=channel.trusted, allowed=self.allowed_targets)
