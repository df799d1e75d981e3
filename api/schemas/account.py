"""API keys, the organization, dashboard counts and billing."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from api.schemas.common import In, Omit, Out, Timestamp

PlanName = Literal["FREE", "PRO", "BUSINESS", "ENTERPRISE"]
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$"


class KeyCreate(In):
    name: str = Field(min_length=1, max_length=100, examples=["CI/CD Pipeline"])
    readOnly: bool = Field(False, description="GET/HEAD only")
    expiresAt: str | None = Field(
        None,
        examples=["2026-01-01T00:00:00Z"],
        description=(
            "ISO 8601 (no offset = UTC). Not after the creating key's own expiry; "
            "omitted, it is that expiry"
        ),
    )

    model_config = {"json_schema_extra": {"examples": [{"name": "CI/CD Pipeline"}]}}


class Key(Out):
    id: str = Field(examples=["key_001"])
    name: str
    key: str = Field(
        description="In full only in the create response", examples=["vigil_ab...ef12"]
    )
    readOnly: bool
    lastUsed: Timestamp | None
    createdAt: Timestamp | None
    expiresAt: Timestamp | None


class OrganizationCreate(In):
    name: str = Field(min_length=1, max_length=100, examples=["Acme Inc"])
    slug: str = Field(pattern=SLUG_PATTERN, examples=["acme-inc"])
    plan: PlanName | None = Field(None, description="The caller's plan or a lower one")
    ownerEmail: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$")

    model_config = {"json_schema_extra": {"examples": [{"name": "Acme Inc", "slug": "acme-inc"}]}}


class OrganizationUpdate(In):
    name: (
        Annotated[str, Field(min_length=1, max_length=100, examples=["Acme Corporation"])] | Omit
    ) = None
    slug: Annotated[str, Field(pattern=SLUG_PATTERN)] | Omit = None


class Organization(Out):
    id: str = Field(examples=["org_001"])
    name: str = Field(examples=["Acme Inc"])
    slug: str = Field(examples=["acme-inc"])
    plan: str = Field(examples=["PRO"])
    trusted: bool = Field(
        False, description="Read-only: its monitors and channels may reach internal addresses"
    )
    createdAt: Timestamp | None


class CreatedOrganization(Organization):
    apiKey: str = Field(description="The new organization's admin key, shown only once")


class DashboardStats(Out):
    totalMonitors: int = Field(examples=[25])
    currentlyDown: int = Field(examples=[1])
    avgUptime: float = Field(examples=[99.87])
    incidentsToday: int = Field(examples=[3])


class OverLimit(Out):
    """Monitors kept from a larger plan that this one would not allow today."""

    monitorsOverLimit: int = Field(examples=[0])
    intervalBelowMinimum: list[str] = Field(description="Monitor ids")
    browserNotAllowed: list[str] = Field(description="Monitor ids")


class BillingInfo(Out):
    plan: str = Field(examples=["PRO"])
    monitorCount: int = Field(examples=[42])
    monitorLimit: int | None = Field(examples=[50], description="null: unlimited")
    overLimit: OverLimit | None = None


class Billing(BillingInfo):
    """The reference shows the fields bare; ``data`` repeats them as everywhere else."""

    data: BillingInfo
