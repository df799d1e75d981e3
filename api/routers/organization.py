"""``/api/organization``: the caller's organization; creating new ones."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep, SettingsDep, StoreDep, require_role
from api.errors import ApiError, FieldIssue, invalid
from api.idempotency import run_create
from api.openapi import body
from api.schemas.account import CreatedOrganization, OrganizationCreate, OrganizationUpdate
from api.schemas.account import Organization as OrganizationOut
from api.schemas.common import API_ERRORS, Data
from api.serialize import org_json
from store.models import Organization
from store.org_origins import count_created_by, created_through_api, record_origin
from store.orgs import SLUG_RE, create_org, email_taken, lock_org, slug_taken
from store.plans import PLANS, limits_for

router = APIRouter(prefix="/api/organization", tags=["organization"], responses=API_ERRORS)


def _slug_conflict(slug: str) -> ApiError:
    return ApiError(409, f"The slug '{slug}' is already taken; choose another")


SLUG_RULE = "must be 1-50 lowercase letters, digits and hyphens, not starting or ending with '-'"


def _check(body: dict[str, Any], *, allowed: set[str], required: bool) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    for field in ("name", "slug"):
        value = body.get(field)
        if value is None:
            if required or field in body:  # an explicit null is not "leave as is"
                issues.append((field, "is required" if required else "must not be null"))
            continue
        if not isinstance(value, str) or not value.strip():
            issues.append((field, "must be a non-empty string"))
        elif field == "name" and len(value) > 100:
            issues.append((field, "must be at most 100 characters"))
        elif field == "slug" and not SLUG_RE.match(value):
            issues.append((field, SLUG_RULE))
    plan = body.get("plan")
    if "plan" in allowed and plan is not None and plan not in PLANS:
        issues.append(("plan", "must be one of " + ", ".join(PLANS)))
    issues += [(f, "is not an organization field") for f in sorted(set(body) - allowed)]
    return issues


def _plan_allowed(requested: str | None, caller_plan: str) -> None:
    """An organization may create others on its own plan or a lower one, not a higher."""
    if requested is not None and PLANS.index(requested) > PLANS.index(caller_plan):
        raise ApiError(
            403,
            f"An organization on the {caller_plan} plan cannot create one on the {requested} "
            "plan; ask your administrator (vigil admin create-org)",
        )


async def _allowance_left(session: AsyncSession, caller: Organization) -> None:
    """403 unless the caller may create one more organization (see docs/configuration.md)."""
    operator = "ask the operator (vigil admin create-org)"
    if await created_through_api(session, caller.id):
        raise ApiError(
            403, f"An organization created through the API cannot create others; {operator}"
        )
    allowed = limits_for(caller.plan).orgs_allowed
    if await count_created_by(session, caller.id) >= allowed:
        raise ApiError(
            403,
            f"Plan limit reached: the {caller.plan} plan may create {allowed} "
            f"organization{'s' if allowed != 1 else ''} through the API; {operator}",
        )


@router.get("", response_model=Data[OrganizationOut])
async def get_org(auth: AuthDep) -> dict[str, Any]:
    """The organization the key belongs to."""
    return {"data": org_json(auth.org)}


@router.post(
    "",
    status_code=201,
    response_model=Data[CreatedOrganization],
    openapi_extra=body(OrganizationCreate),
    dependencies=[require_role("OWNER")],
)
async def create(
    request: Request, auth: AuthDep, store: StoreDep, clock: ClockDep, settings: SettingsDep
) -> Any:
    """Create another organization (OWNER keys only); the caller becomes its owner.

    The response's ``apiKey`` (shown once) is the caller's key for the new
    organization: a key belongs to one membership. With ``ownerEmail`` a new user
    owns it instead, and the key is theirs.
    """
    body = await read_object(request)
    issues = _check(body, allowed={"name", "slug", "plan", "ownerEmail"}, required=True)
    email = body.get("ownerEmail")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        issues.append(("ownerEmail", "must be an email address"))
    if issues:
        raise invalid(issues)
    _plan_allowed(body.get("plan"), auth.org.plan)

    async def _create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        # First: concurrent creates must count each other against the allowance.
        await lock_org(session, auth.org_id)
        await _allowance_left(session, auth.org)
        if await slug_taken(session, body["slug"]):
            raise _slug_conflict(body["slug"])
        if email is not None and await email_taken(session, email):
            raise ApiError(
                409,
                f"A user with the email '{email}' already exists; give another ownerEmail, "
                "or leave it out to own the organization yourself and invite them "
                "(POST /api/team/invite)",
            )
        try:
            # A savepoint, so a slug taken by a concurrent request answers 409, not 500.
            async with session.begin_nested():
                org, key = await create_org(
                    session,
                    name=body["name"].strip(),
                    slug=body["slug"],
                    plan=body.get("plan") or auth.org.plan,
                    owner_email=email,
                    owner_user_id=None if email else auth.key.user_id,
                    now=clock.now(),
                    # Trust is the operator's to give (vigil admin trust-org), not the caller's.
                    trusted=settings.trust_new_orgs,
                )
        except IntegrityError:
            raise _slug_conflict(body["slug"]) from None
        record_origin(session, org.id, creator=auth.org_id, now=clock.now())
        return 201, {"data": {**org_json(org), "apiKey": key}}

    return await run_create(request, auth, store, clock, _create, secret_fields=("apiKey",))


@router.patch(
    "",
    response_model=Data[OrganizationOut],
    openapi_extra=body(OrganizationUpdate),
    dependencies=[require_role("OWNER")],
)
async def update(
    request: Request, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Rename the organization or change its slug."""
    body = await read_object(request)
    issues = _check(body, allowed={"name", "slug"}, required=False)
    if issues:
        raise invalid(issues)
    org = await session.get(Organization, auth.org_id)
    assert org is not None  # the key's organization exists while the key does
    if "slug" in body and await slug_taken(session, body["slug"], except_id=org.id):
        raise _slug_conflict(body["slug"])
    if "name" in body:
        org.name = body["name"].strip()
    if "slug" in body:
        org.slug = body["slug"]
    org.updated_at = clock.now()
    try:
        # Flush here: a slug taken by a concurrent request must answer 409, not 200.
        await session.flush()
    except IntegrityError:
        raise _slug_conflict(body["slug"]) from None
    return {"data": org_json(org)}
