"""Alert channels and maintenance windows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.config import JsonDict

from api.schemas.common import In, Omit, Out, Timestamp

ChannelType = Literal["EMAIL", "SLACK", "WEBHOOK", "PAGERDUTY", "APPRISE"]
_CHANNEL_CONFIG = (
    'By type: EMAIL {"recipients": [...]}, SLACK {"webhookUrl"}, WEBHOOK {"url", "secret"}, '
    'PAGERDUTY {"routingKey"}, APPRISE {"url"}'
)


class ChannelCreate(In):
    name: str = Field(min_length=1, max_length=100, examples=["Engineering Slack"])
    type: ChannelType
    config: dict[str, Any] = Field(
        description=_CHANNEL_CONFIG,
        examples=[{"webhookUrl": "https://hooks.slack.com/services/xxx"}],
    )
    enabled: Annotated[bool, Field(description="Default true")] | Omit = None
    isActive: Annotated[bool, Field(description="Same as enabled")] | Omit = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Engineering Slack",
                    "type": "SLACK",
                    "config": {"webhookUrl": "https://hooks.slack.com/services/xxx"},
                }
            ]
        }
    }


class ChannelUpdate(In):
    name: Annotated[str, Field(min_length=1, max_length=100)] | Omit = None
    type: Annotated[ChannelType, Field(description="Cannot change")] | Omit = None
    config: (
        Annotated[dict[str, Any], Field(description="Masked secrets sent back are kept")] | Omit
    ) = None
    enabled: bool | Omit = None
    isActive: bool | Omit = None

    model_config = {"json_schema_extra": {"examples": [{"name": "Ops Slack", "enabled": False}]}}


class Channel(Out):
    id: str = Field(examples=["ac_001"])
    name: str
    type: str
    config: dict[str, Any] = Field(description="Secrets masked")
    isActive: bool
    orgId: str
    createdAt: Timestamp | None
    updatedAt: Timestamp | None


class TestDelivery(Out):
    ok: bool
    error: str | None
    statusCode: int | None


# ISO 8601 as Python reads it (no offset = UTC): wider than JSON Schema's "date-time".
_WHEN: JsonDict = {"description": "ISO 8601; no offset means UTC"}


class WindowCreate(In):
    title: str = Field(min_length=1, max_length=200, examples=["Database upgrade"])
    description: str | None = Field(None, max_length=5000)
    monitorId: str | None = Field(None, description="Omit or null for the whole organization")
    startsAt: str = Field(json_schema_extra=_WHEN, examples=["2025-06-20T02:00:00.000Z"])
    endsAt: str = Field(json_schema_extra=_WHEN, examples=["2025-06-20T04:00:00.000Z"])

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Database upgrade",
                    "description": "Upgrading PostgreSQL to v16",
                    "startsAt": "2025-06-20T02:00:00.000Z",
                    "endsAt": "2025-06-20T04:00:00.000Z",
                }
            ]
        }
    }


class WindowUpdate(In):
    title: Annotated[str, Field(min_length=1, max_length=200)] | Omit = None
    description: str | None = Field(None, max_length=5000)
    monitorId: str | None = None
    startsAt: Annotated[str, Field(json_schema_extra=_WHEN)] | Omit = None
    endsAt: Annotated[str, Field(json_schema_extra=_WHEN)] | Omit = None
    isActive: bool | Omit = None

    model_config = {"json_schema_extra": {"examples": [{"endsAt": "2025-06-20T06:00:00.000Z"}]}}


class Window(Out):
    id: str = Field(examples=["mw_001"])
    title: str
    description: str | None
    monitorId: str | None
    monitorName: str | None
    startsAt: Timestamp | None
    endsAt: Timestamp | None
    isActive: bool = Field(description="Enabled")
    inProgress: bool = Field(description="Enabled and covering now")
    createdAt: Timestamp | None


class Attempt(Out):
    startedAt: Timestamp | None
    finishedAt: Timestamp | None = Field(description="null while in flight")
    outcome: str = Field(
        examples=["failed"], description="in_flight, delivered, failed or interrupted"
    )
    statusCode: int | None = Field(examples=[502])
    error: str | None = Field(examples=["HTTP 502 from the receiver"])
    durationMs: int | float | None = Field(examples=[231.4])


class Delivery(Out):
    id: str = Field(examples=["ob_001"])
    eventId: str = Field(examples=["evt_001"], description="The same on every retry")
    eventType: str = Field(examples=["monitor.down"])
    channelId: str = Field(examples=["ac_001"])
    monitorId: str | None
    incidentId: str | None
    status: str = Field(examples=["failed"], description="pending, delivered or failed")
    attemptCount: int
    nextAttemptAt: Timestamp | None = Field(description="Pending deliveries only")
    lastError: str | None
    createdAt: Timestamp | None
    deliveredAt: Timestamp | None
    failedAt: Timestamp | None
    attempts: list[Attempt] = Field(description="Oldest first")
