"""``/api/status-pages``: the owner's CRUD, the public read, and domain verification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep, SettingsDep, StoreDep, authenticate
from api.errors import ApiError, invalid, not_found
from api.idempotency import run_create
from api.openapi import body, created
from api.removal import remove_status_page
from api.schemas.common import API_ERRORS, Data, Message
from api.schemas.status_pages import (
    PublicStatusPage,
    StatusPageCreate,
    StatusPageUpdate,
    Verification,
    VerificationStarted,
)
from api.schemas.status_pages import StatusPage as StatusPageOut
from api.serialize import iso
from api.status_page_input import (
    check_plan,
    read_components,
    read_fields,
    reverify_domain,
    uniqueness_error,
)
from pages import domains
from pages.public_json import public_json
from pages.view import load_view
from store.status_page_models import StatusPage
from store.status_pages import (
    Component,
    components_of,
    create_page,
    list_pages,
    page_by_slug,
    update_page,
)

router = APIRouter(prefix="/api/status-pages", tags=["status pages"], responses=API_ERRORS)
# A new page's slug feeds every operation on it.
_ON_A_PAGE = (
    "status_pages_get_one",
    "status_pages_update",
    "status_pages_remove",
    "status_pages_start_verification",
    "status_pages_check_verification",
    "status_pages_list_notices",
    "status_pages_create_notice",
    "status_pages_list_subscribers",
    "status_pages_subscribe",
    "status_pages_public_html_page",
    "status_pages_public_atom_feed",
    "status_pages_public_statuspage_json",
)


def page_json(page: StatusPage, components: list[Component]) -> dict[str, Any]:
    """The owner's view: the reference's fields, then Vigil's."""
    return {
        "id": page.id,
        "name": page.name,
        "slug": page.slug,
        "customDomain": page.custom_domain,
        "isPublic": page.is_public,
        "orgId": page.org_id,
        "createdAt": iso(page.created_at),
        "components": [
            {
                "id": c.id,
                "monitorId": m.id,
                "displayName": c.display_name,
                "order": c.position,
                "monitor": {"id": m.id, "name": m.name, "url": m.url},
                "group": c.group_name,
                "regions": c.regions,
            }
            for c, m in components
        ],
        "description": page.description,
        "logoUrl": page.logo_url,
        "faviconUrl": page.favicon_url,
        "customCss": page.custom_css,
        "hideBranding": page.hide_branding,
        "domainVerified": page.domain_verified_at is not None,
        "updatedAt": iso(page.updated_at),
    }


async def owned(session: AsyncSession, org_id: str, slug: str) -> StatusPage:
    """The caller's page; another organization's page is 404, as if it did not exist."""
    page = await page_by_slug(session, slug)
    if page is None or page.org_id != org_id:
        raise not_found("status_page")
    return page


@router.get("", response_model=Data[list[StatusPageOut]])
async def list_all(auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """The organization's pages with their components."""
    pages = await list_pages(session, auth.org_id)
    components = await components_of(session, [p.id for p in pages])
    return {"data": [page_json(p, components[p.id]) for p in pages]}


@router.post(
    "",
    status_code=201,
    response_model=Data[StatusPageOut],
    openapi_extra=body(StatusPageCreate),
    responses=created("slug", **{op: {"slug": "$response.body#/data/slug"} for op in _ON_A_PAGE}),
)
async def create(request: Request, auth: AuthDep, store: StoreDep, clock: ClockDep) -> Any:
    """Create a page from ``monitors`` (ids) or ``components`` (objects)."""
    body = await read_object(request)

    async def _create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        parsed, issues = read_fields(body, creating=True)
        specs = await read_components(session, auth.org_id, body, issues)
        if issues:
            raise invalid(issues)
        check_plan(parsed.values, auth.org.plan)
        if (taken := await uniqueness_error(session, parsed.values)) is not None:
            raise taken
        page = await create_page(session, auth.org_id, parsed.values, specs or [], now=clock.now())
        components = (await components_of(session, [page.id]))[page.id]
        return 201, {"data": page_json(page, components)}

    return await run_create(request, auth, store, clock, _create)


@router.get("/{slug}", response_model=Data[PublicStatusPage])
async def get_one(request: Request, slug: str, session: SessionDep, clock: ClockDep) -> Any:
    """The public shape; a private page needs a key of its organization."""
    page = await page_by_slug(session, slug)
    if page is None:
        raise not_found("status_page")
    if not page.is_public:
        # Called by hand (the page is public unless private): no security scheme.
        auth = await authenticate(
            request, request.app.state.store, clock, request.app.state.settings, None
        )
        if auth.org_id != page.org_id:
            raise not_found("status_page")
    view = await load_view(session, page, now=clock.now())
    return {"data": public_json(view)}


@router.put("/{slug}", response_model=Data[StatusPageOut], openapi_extra=body(StatusPageUpdate))
async def update(
    slug: str, request: Request, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Change the fields given; ``monitors``/``components`` replace the whole list."""
    body = await read_object(request)
    page = await owned(session, auth.org_id, slug)
    parsed, issues = read_fields(body, creating=False)
    specs = await read_components(session, auth.org_id, body, issues)
    if issues:
        raise invalid(issues)
    check_plan(parsed.values, auth.org.plan)
    if (taken := await uniqueness_error(session, parsed.values, except_id=page.id)) is not None:
        raise taken
    reverify_domain(page, parsed.values)
    await update_page(session, page, parsed.values, specs, now=clock.now())
    components = (await components_of(session, [page.id]))[page.id]
    return {"data": page_json(page, components)}


@router.delete("/{slug}", response_model=Message)
async def remove(slug: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """Delete the page and its components."""
    page = await owned(session, auth.org_id, slug)
    await remove_status_page(session, page)
    return {"message": "Status page deleted successfully"}


def _needs_domain(page: StatusPage) -> str:
    if not page.custom_domain:
        raise ApiError(
            400,
            "This status page has no customDomain; set one with PUT first",
            fields=[("customDomain", "is not set")],
        )
    return page.custom_domain


@router.post("/{slug}/verify-domain", response_model=Data[VerificationStarted])
async def start_verification(slug: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """A token and the TXT record to publish (the same token until the domain changes)."""
    page = await owned(session, auth.org_id, slug)
    domain = _needs_domain(page)
    if page.domain_token is None:
        page.domain_token = domains.new_token()
    return {
        "data": {
            "verificationToken": page.domain_token,
            "instructions": {
                "type": "TXT",
                "host": domains.record_name(domain),
                "value": page.domain_token,
                "ttl": domains.RECORD_TTL,
            },
        }
    }


@router.get("/{slug}/verify-domain", response_model=Data[Verification])
async def check_verification(
    slug: str, auth: AuthDep, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """Look the TXT record up now; the domain is verified when it holds the token."""
    page = await owned(session, auth.org_id, slug)
    domain = _needs_domain(page)
    if page.domain_token is None:
        raise ApiError(
            400,
            "Domain verification was not started; POST to this URL first for the token",
            fields=[("verificationToken", "was not issued")],
        )
    await domains.verify(page, nameservers=settings.dns_nameservers, now=clock.now())
    return {
        "data": {
            "domainVerified": page.domain_verified_at is not None,
            "customDomain": domain,
            "verifiedAt": iso(page.domain_verified_at),
        }
    }
