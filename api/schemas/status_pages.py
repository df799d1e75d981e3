"""Status pages: the owner's CRUD, the public shape, domains, notices and subscribers.

Bodies are validated by ``api.status_page_input`` (messages per field); the models
here take their limits and field names from it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api import status_page_input as spi
from api.schemas.common import In, Omit, Out, Timestamp, one_of
from pages.view import NOTICE_SEVERITIES

PageStatus = Literal["operational", "degraded", "partial_outage", "major_outage", "maintenance"]
Text100 = Annotated[str, Field(min_length=1, max_length=100)]
_URL = "An http(s) URL or a data:image/...;base64 URL; null or empty removes it"
_IGNORED = "Read-only: ignored, so that a page read can be sent back"
NOTICE_BODY_MAX = 10_000


class ComponentIn(In):
    monitorId: str = Field(examples=["mon_abc123"], description="A monitor of this organization")
    displayName: Text100 | Omit = Field(None, description="Default: the monitor's name")
    group: Annotated[str, Field(max_length=100)] | None = Field(
        None, examples=["API"], description="Components of a group are shown together"
    )
    regions: Annotated[list[str], Field(min_length=1)] | None = Field(
        None, description="Only these of the monitor's regions; null: all"
    )


class _PageFields(In):
    description: Annotated[str, Field(max_length=500)] | None = None
    customDomain: str | None = Field(
        None,
        examples=["status.example.com"],
        description="A domain name; verify it with /verify-domain. Null or empty removes it",
    )
    components: Annotated[list[ComponentIn], Field(max_length=spi.MAX_COMPONENTS)] | None = Field(
        None, description="Instead of monitors: components with names, groups and regions"
    )
    hideBranding: bool | Omit = Field(None, description="BUSINESS or ENTERPRISE plan")
    customCss: Annotated[str, Field(max_length=spi.MAX_CSS)] | None = Field(
        None, description="BUSINESS or ENTERPRISE plan; no '<'"
    )
    faviconUrl: str | None = Field(None, description=_URL)
    logoUrl: str | None = Field(None, description=_URL)
    isPublic: bool | Omit = Field(None, description="Default true; a private page needs a key")
    id: Any = Field(None, description=_IGNORED)
    orgId: Any = Field(None, description=_IGNORED)
    createdAt: Any = Field(None, description=_IGNORED)
    updatedAt: Any = Field(None, description=_IGNORED)
    domainVerified: Any = Field(None, description=_IGNORED)


class StatusPageCreate(_PageFields):
    """``monitors`` (ids) or ``components`` (objects), not both."""

    name: Text100 = Field(examples=["Acme Status"])
    slug: str = Field(pattern=spi.SLUG.pattern, examples=["acme-status"])
    monitors: Annotated[list[str], Field(max_length=spi.MAX_COMPONENTS)] | None = Field(
        None, examples=[["cm1abc123", "cm2def456"]], description="Monitor ids, in order"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{"name": "Acme Status", "slug": "acme-status", "monitors": ["cm1abc123"]}]
        }
    }


class StatusPageUpdate(_PageFields):
    """Every field optional; ``monitors`` or ``components`` replace the whole list."""

    name: Text100 | Omit = Field(None, examples=["Acme Status (Updated)"])
    slug: Annotated[str, Field(pattern=spi.SLUG.pattern)] | None = Field(
        None, description="null keeps the slug"
    )
    monitors: Annotated[list[str], Field(max_length=spi.MAX_COMPONENTS)] | None = Field(
        None, description="Replaces the component list"
    )

    model_config = {"json_schema_extra": {"examples": [{"name": "Acme Status (Updated)"}]}}


class MonitorRef(Out):
    id: str = Field(examples=["cm1abc123"])
    name: str = Field(examples=["Production API"])
    url: str = Field(examples=["https://api.example.com/health"])


class PageComponent(Out):
    id: str = Field(examples=["spc_001"])
    monitorId: str
    displayName: str = Field(examples=["Production API"])
    order: int = Field(examples=[0])
    monitor: MonitorRef
    group: str | None
    regions: list[str] | None


class StatusPage(Out):
    id: str = Field(examples=["sp_001"])
    name: str = Field(examples=["Acme Status"])
    slug: str = Field(examples=["acme-status"])
    customDomain: str | None
    isPublic: bool
    orgId: str
    createdAt: Timestamp | None
    components: list[PageComponent]
    description: str | None
    logoUrl: str | None
    faviconUrl: str | None
    customCss: str | None
    hideBranding: bool
    domainVerified: bool
    updatedAt: Timestamp | None


class PublicComponent(Out):
    name: str = Field(examples=["Production API"])
    status: PageStatus
    uptime90d: float | None = Field(examples=[99.98])
    id: str
    group: str | None


class PublicUpdate(Out):
    id: str
    status: str = Field(examples=["identified"])
    body: str
    createdAt: Timestamp | None


class PublicIncident(Out):
    id: str
    title: str
    status: str = Field(examples=["investigating"])
    components: list[str] = Field(description="Component names")
    cause: str | None
    startedAt: Timestamp | None
    resolvedAt: Timestamp | None
    updates: list[PublicUpdate]


class PublicMaintenance(Out):
    id: str
    title: str
    description: str | None
    startsAt: Timestamp | None
    endsAt: Timestamp | None
    inProgress: bool
    components: list[str]


class PublicNotice(Out):
    id: str
    title: str
    body: str
    severity: str


class PublicStatusPage(Out):
    name: str = Field(examples=["Acme Status"])
    slug: str = Field(examples=["acme-status"])
    logoUrl: str | None
    overallStatus: PageStatus
    components: list[PublicComponent]
    activeIncidents: list[PublicIncident]
    description: str | None
    maintenance: list[PublicMaintenance]
    notices: list[PublicNotice]
    updatedAt: Timestamp | None


class TxtRecord(Out):
    type: Literal["TXT"]
    host: str = Field(examples=["_vigil-verification.status.example.com"])
    value: str = Field(examples=["vigil-verify=abc123def456"])
    ttl: int = Field(examples=[300])


class VerificationStarted(Out):
    verificationToken: str = Field(examples=["vigil-verify=abc123def456"])
    instructions: TxtRecord


class Verification(Out):
    domainVerified: bool
    customDomain: str = Field(examples=["status.example.com"])
    verifiedAt: Timestamp | None


class NoticeCreate(In):
    title: str = Field(min_length=1, max_length=200, examples=["Scheduled database upgrade"])
    body: str = Field("", max_length=NOTICE_BODY_MAX, description="Markdown")
    severity: Annotated[str, one_of(NOTICE_SEVERITIES)] = Field("info", examples=["maintenance"])

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Scheduled database upgrade",
                    "body": "Writes pause for **5 minutes** at 02:00 UTC.",
                    "severity": "maintenance",
                }
            ]
        }
    }


class Notice(Out):
    id: str = Field(examples=["ntc_001"])
    title: str
    body: str
    severity: str = Field(examples=["info"])
    createdAt: Timestamp | None
    resolvedAt: Timestamp | None


class SubscribeForm(BaseModel):
    """``email`` (a confirmation email is sent) or ``webhookUrl`` (active at once).

    Other fields, and values that are not strings, are ignored (an HTML form may
    carry its button); as a form or as JSON."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"examples": [{"email": "you@example.com"}]}
    )

    email: str | None = Field(None, examples=["you@example.com"])
    webhookUrl: str | None = Field(None, examples=["https://example.com/status-hook"])


class Subscriber(Out):
    id: str = Field(examples=["sub_001"])
    type: str = Field(examples=["EMAIL"], description="EMAIL or WEBHOOK")
    email: str | None = Field(None, description="Left out of the public 202")
    webhookUrl: str | None
    confirmed: bool
    confirmedAt: Timestamp | None
    createdAt: Timestamp | None


class WebhookSubscriber(Subscriber):
    secret: str = Field(description="Signs every request to the webhook; shown only once")


class DomainFound(Out):
    domain: str = Field(examples=["status.example.com"])
    verified: bool


class ShieldsBadge(Out):
    schemaVersion: int = Field(examples=[1])
    label: str = Field(examples=["uptime 30d"])
    message: str = Field(examples=["99.98%"])
    color: str = Field(examples=["green"])
