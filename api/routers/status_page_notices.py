"""``/api/status-pages/:slug/notices``: messages on a page that no monitor tells of."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep
from api.errors import FieldIssue, invalid, not_found
from api.openapi import body, created
from api.routers.status_pages import owned
from api.schemas.common import API_ERRORS, Data
from api.schemas.status_pages import NOTICE_BODY_MAX, Notice, NoticeCreate
from api.serialize import iso
from pages.view import NOTICE_SEVERITIES
from store.base import new_id
from store.status_page_models import StatusPageNotice

router = APIRouter(
    prefix="/api/status-pages/{slug}/notices", tags=["status pages"], responses=API_ERRORS
)


def notice_json(n: StatusPageNotice) -> dict[str, Any]:
    return {
        "id": n.id,
        "title": n.title,
        "body": n.body,
        "severity": n.severity,
        "createdAt": iso(n.created_at),
        "resolvedAt": iso(n.resolved_at),
    }


def _read(body: dict[str, Any]) -> tuple[str, str, str]:
    issues: list[FieldIssue] = [
        (f, "is not a notice field") for f in sorted(set(body) - {"title", "body", "severity"})
    ]
    title, text, severity = body.get("title"), body.get("body", ""), body.get("severity", "info")
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > 200:
        issues.append(("title", "is required: 1-200 characters"))
    if not isinstance(text, str) or len(text) > NOTICE_BODY_MAX:
        issues.append(("body", f"must be markdown text of at most {NOTICE_BODY_MAX} characters"))
    if severity not in NOTICE_SEVERITIES:
        issues.append(("severity", "must be one of " + ", ".join(NOTICE_SEVERITIES)))
    if issues:
        raise invalid(issues)
    assert isinstance(title, str) and isinstance(text, str) and isinstance(severity, str)
    return title.strip(), text.strip(), severity


@router.get("", response_model=Data[list[Notice]])
async def list_notices(slug: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """The page's notices, newest first, resolved ones too."""
    page = await owned(session, auth.org_id, slug)
    rows = await session.scalars(
        select(StatusPageNotice)
        .where(StatusPageNotice.page_id == page.id)
        .order_by(StatusPageNotice.created_at.desc(), StatusPageNotice.id)
    )
    return {"data": [notice_json(n) for n in rows]}


@router.post(
    "",
    status_code=201,
    response_model=Data[Notice],
    openapi_extra=body(NoticeCreate),
    responses=created(
        "notice_id",
        status_pages_resolve_notice={
            "slug": "$request.path.slug",
            "notice_id": "$response.body#/data/id",
        },
    ),
)
async def create_notice(
    slug: str, request: Request, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Post a notice (severity info, minor, major or maintenance); shown until resolved."""
    body = await read_object(request)
    page = await owned(session, auth.org_id, slug)
    title, text, severity = _read(body)
    notice = StatusPageNotice(
        id=new_id("ntc"),
        page_id=page.id,
        title=title,
        body=text,
        severity=severity,
        created_at=clock.now(),
    )
    session.add(notice)
    await session.flush()
    return {"data": notice_json(notice)}


@router.post("/{notice_id}/resolve", response_model=Data[Notice])
async def resolve_notice(
    slug: str, notice_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Take the notice off the page (it stays listed here, resolved)."""
    page = await owned(session, auth.org_id, slug)
    notice = await session.get(StatusPageNotice, notice_id)
    if notice is None or notice.page_id != page.id:
        raise not_found("notice")
    notice.resolved_at = notice.resolved_at or clock.now()
    return {"data": notice_json(notice)}
