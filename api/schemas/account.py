"""API keys, the organization, dashboard counts and billing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import In, Omit, Out, Timestamp, one_of
from store.plans import PLANS
from store.team import INVITE_PREFIX

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

    model_config = {"json_schema_extra": {"examples": [{"name": "Acme Corporation"}]}}


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


INVITABLE_ROLES = ("ADMIN", "VIEWER")
PAID_PLANS = tuple(PLANS[1:])
MAX_EMAIL = 320  # the users.email column


class InviteCreate(In):
    email: str = Field(
        min_length=3, max_length=MAX_EMAIL, examples=["bob@example.com"], description="Email"
    )
    role: Annotated[str, one_of(INVITABLE_ROLES)] = Field(
        examples=["ADMIN"], description="An organization has one OWNER, its creator"
    )
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description="For a user not known yet"
    )

    model_config = {
        "json_schema_extra": {"examples": [{"email": "bob@example.com", "role": "ADMIN"}]}
    }


class Member(Out):
    id: str = Field(examples=["mem_001"])
    userId: str = Field(examples=["usr_001"])
    role: str = Field(examples=["OWNER"])
    name: str | None = Field(examples=["Jane Doe"])
    email: str = Field(examples=["jane@example.com"])
    image: str | None = Field(examples=["https://example.com/avatar.png"])
    joinedAt: Timestamp | None
    invitePending: bool = Field(False, description="Until the invitation is accepted")


class InvitedMember(Member):
    inviteToken: str = Field(description="Shown once; the invitee sends it to /api/team/accept")
    inviteExpiresAt: Timestamp
    inviteEmailed: bool | Omit = Field(None, description="With VIGIL_INVITE_EMAIL on")
    inviteEmailError: str | Omit = Field(None, description="Why the invitation email failed")


class Invited(Out):
    data: InvitedMember
    message: str = Field(examples=["Team member invited successfully"])


class InvitationAccept(In):
    token: str = Field(
        pattern=f"^{INVITE_PREFIX}", examples=[f"{INVITE_PREFIX}..."], description="The inviteToken"
    )
    keyName: str = Field(
        "Invitation key", min_length=1, max_length=100, description="Name of the new API key"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{"token": f"{INVITE_PREFIX}...", "keyName": "Bob's laptop"}]
        }
    }


class Acceptance(Out):
    member: Member
    organization: Organization
    apiKey: Key = Field(description="In full, shown only once")


class Accepted(Out):
    data: Acceptance
    message: str


class CheckoutCreate(In):
    plan: Annotated[str, one_of(PAID_PLANS)] = Field(examples=["PRO"])

    model_config = {"json_schema_extra": {"examples": [{"plan": "PRO"}]}}


class Checkout(Out):
    productId: str = Field(examples=["vigil_pro_monthly"])
    appUserId: str = Field(examples=["org_001"], description="The organization's id")
    apiKey: str = Field(examples=["rcb_..."], description="RevenueCat's public key")


class Portal(Out):
    subscriptions: dict[str, Any] = Field(
        examples=[{"vigil_pro_monthly": {"expires_date": "2026-04-11T00:00:00Z"}}]
    )
    entitlements: dict[str, Any]
    managementUrl: str | None


class RevenueCatEvent(BaseModel):
    """RevenueCat's webhook body as far as Vigil reads it. Anything else, or a field of
    another type, is answered 200 with ``applied`` false (so RevenueCat does not retry)."""

    model_config = ConfigDict(extra="allow")

    type: Any = Field(None, examples=["INITIAL_PURCHASE"])
    id: Any = Field(None, examples=["evt_rc_001"])
    app_user_id: Any = Field(None, description="The organization's id", examples=["org_001"])
    product_id: Any = Field(None, examples=["vigil_pro_monthly"])
    new_product_id: Any = Field(None, description="PRODUCT_CHANGE only")


class RevenueCatWebhook(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "api_version": "1.0",
                    "event": {
                        "type": "INITIAL_PURCHASE",
                        "id": "evt_rc_001",
                        "app_user_id": "org_001",
                        "product_id": "vigil_pro_monthly",
                    },
                }
            ]
        },
    )

    api_version: Any = Field(None, examples=["1.0"])
    event: RevenueCatEvent | Any = Field(None, description="Without it nothing changes")


class WebhookOutcome(Out):
    applied: bool
    reason: str | Omit = Field(None, description="Why nothing changed")
    orgId: str | Omit = None
    previousPlan: str | Omit = None
    plan: str | Omit = None
    overLimit: OverLimit | Omit = None
