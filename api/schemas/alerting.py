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


class ChannelUpdate(In):
    name: Annotated[str, Field(min_length=1, max_length=100)] | Omit = None
    type: Annotated[ChannelType, Field(description="Cannot change")] | Omit = None
    config: (
        Annotated[dict[str, Any], Field(description="Masked secrets sent back are kept")] | Omit
    ) = None
    enabled: bool | Omit = None
    isActive: bool | Omit = None


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
