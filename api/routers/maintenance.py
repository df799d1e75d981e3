"""``/api/maintenance``: windows that withhold alerts, for one monitor or the whole org.

``isActive`` means what the reference means: the window is enabled. Whether it is
in force right now is the computed ``inProgress`` (enabled and ``startsAt <= now <
endsAt``), the same rule the evaluator applies through ``store.maintenance``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from pydantic import WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep, StoreDep, require_role
from api.errors import FieldIssue, invalid, not_found
from api.idempotency import run_create
from api.openapi import body, created
from api.pagination import time_issue
from api.schemas.alerting import Window, WindowCreate, WindowUpdate
from api.schemas.common import API_ERRORS, Data, Message
from api.serialize import iso
from store.maintenance import (
    WindowFilter,
    create_window,
    delete_window,
    get_window,
    list_windows,
    update_window,
)
from store.models import MaintenanceWindow, Monitor
from store.monitors import get_monitor

router = APIRouter(prefix="/api/maintenance", tags=["maintenance"], responses=API_ERRORS)

FILTERS = ("active", "upcoming", "past")
_FIELDS = frozenset({"title", "description", "monitorId", "startsAt", "endsAt", "isActive"})
_READ_ONLY = frozenset({"id", "monitorName", "inProgress", "createdAt"})
MAX_DESCRIPTION = 5000


def window_json(w: MaintenanceWindow, m: Monitor | None, *, now: datetime) -> dict[str, Any]:
    return {
        "id": w.id,
        "title": w.title,
        "description": w.description,
        "monitorId": w.monitor_id,
        "monitorName": m.name if m is not None else None,
        "startsAt": iso(w.starts_at),
        "endsAt": iso(w.ends_at),
        "isActive": w.is_active,
        "inProgress": w.is_active and w.starts_at <= now < w.ends_at,
        "createdAt": iso(w.created_at),
    }


def _time(body: Mapping[str, Any], field: str, issues: list[FieldIssue]) -> datetime | None:
    raw = body.get(field)
    if raw is None:
        issues.append((field, "is required: an ISO 8601 time such as 2025-06-20T02:00:00Z"))
        return None
    value, issue = time_issue(raw, example="2025-06-20T02:00:00Z")
    if issue is not None:
        issues.append((field, issue))
    return value


def _text_fields(
    body: Mapping[str, Any], issues: list[FieldIssue], *, creating: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if creating and body.get("title") is None:
        issues.append(("title", "is required"))
    elif "title" in body:
        title = body["title"]
        if not isinstance(title, str) or not title.strip():
            issues.append(("title", "must be a non-empty string"))
        elif len(title.strip()) > 200:
            issues.append(("title", "must be at most 200 characters"))
        else:
            values["title"] = title.strip()
    if "description" in body:
        description = body["description"]
        if description is not None and not isinstance(description, str):
            issues.append(("description", "must be a string or null"))
        elif description is not None and len(description) > MAX_DESCRIPTION:
            issues.append(("description", f"must be at most {MAX_DESCRIPTION} characters"))
        else:
            values["description"] = description or None
    if "isActive" in body:
        if not isinstance(body["isActive"], bool):
            issues.append(("isActive", "must be true or false"))
        else:
            values["is_active"] = body["isActive"]
    return values


async def _monitor(
    session: AsyncSession, org_id: str, body: Mapping[str, Any], issues: list[FieldIssue]
) -> tuple[bool, Monitor | None]:
    """(given, monitor): the monitor ``monitorId`` names in this org; None for org-wide."""
    if "monitorId" not in body or body["monitorId"] is None:
        return "monitorId" in body, None
    monitor_id = body["monitorId"]
    if not isinstance(monitor_id, str):
        issues.append(("monitorId", "must be a monitor id or null (org-wide)"))
        return False, None
    monitor = await get_monitor(session, org_id, monitor_id)
    if monitor is None:
        issues.append(("monitorId", f"has no monitor with id {monitor_id!r} in this organization"))
        return False, None
    return True, monitor


def _order(starts: datetime | None, ends: datetime | None, issues: list[FieldIssue]) -> None:
    if starts is not None and ends is not None and ends <= starts:
        issues.append(("endsAt", f"must be after startsAt ({iso(starts)})"))


def _unknown(body: Mapping[str, Any]) -> list[FieldIssue]:
    extra = sorted(set(body) - _FIELDS - _READ_ONLY)
    return [(f, "is not a maintenance window field") for f in extra]


@router.get("", response_model=Data[list[Window]])
async def list_all(
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    filter: Annotated[
        str | None,
        WithJsonSchema({"type": "string", "enum": ["", *FILTERS]}),
        Query(description="active, upcoming or past; omit for all"),
    ] = None,
) -> dict[str, Any]:
    """The organization's maintenance windows, optionally only active/upcoming/past ones."""
    if filter not in (None, "", *FILTERS):
        raise invalid([("filter", "must be one of " + ", ".join(FILTERS) + ", or omitted")])
    which = cast(WindowFilter, filter) if filter else None
    now = clock.now()
    rows = await list_windows(session, auth.org_id, which=which, now=now)
    return {"data": [window_json(w, m, now=now) for w, m in rows]}


@router.post(
    "",
    status_code=201,
    response_model=Data[Window],
    openapi_extra=body(WindowCreate),
    responses=created(
        "window_id", "maintenance_get_one", "maintenance_update", "maintenance_remove"
    ),
    dependencies=[require_role("ADMIN")],
)
async def create(request: Request, auth: AuthDep, store: StoreDep, clock: ClockDep) -> Any:
    """Schedule a window; ``monitorId`` omitted or null makes it org-wide."""
    body = await read_object(request)

    async def _create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        issues = _unknown(body)
        values = _text_fields(body, issues, creating=True)
        _, monitor = await _monitor(session, auth.org_id, body, issues)
        starts, ends = _time(body, "startsAt", issues), _time(body, "endsAt", issues)
        _order(starts, ends, issues)
        if issues:
            raise invalid(issues)
        values.update(monitor_id=monitor.id if monitor else None, starts_at=starts, ends_at=ends)
        window = await create_window(session, auth.org_id, values, now=clock.now())
        return 201, {"data": window_json(window, monitor, now=clock.now())}

    return await run_create(request, auth, store, clock, _create)


async def _owned(
    session: AsyncSession, auth: AuthDep, window_id: str
) -> tuple[MaintenanceWindow, Monitor | None]:
    found = await get_window(session, auth.org_id, window_id)
    if found is None:
        raise not_found("maintenance_window")
    return found


@router.get("/{window_id}", response_model=Data[Window])
async def get_one(
    window_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """One maintenance window."""
    window, monitor = await _owned(session, auth, window_id)
    return {"data": window_json(window, monitor, now=clock.now())}


@router.patch(
    "/{window_id}",
    response_model=Data[Window],
    openapi_extra=body(WindowUpdate),
    dependencies=[require_role("ADMIN")],
)
async def update(
    window_id: str, request: Request, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Change the fields given; the time order is checked on the result."""
    body = await read_object(request)
    window, monitor = await _owned(session, auth, window_id)
    issues = _unknown(body)
    values = _text_fields(body, issues, creating=False)
    monitor_given, new_monitor = await _monitor(session, auth.org_id, body, issues)
    if monitor_given:
        values["monitor_id"] = new_monitor.id if new_monitor else None
        monitor = new_monitor
    starts = _time(body, "startsAt", issues) if "startsAt" in body else window.starts_at
    ends = _time(body, "endsAt", issues) if "endsAt" in body else window.ends_at
    _order(starts, ends, issues)
    if issues:
        raise invalid(issues)
    values.update(starts_at=starts, ends_at=ends)
    await update_window(session, window, values)
    return {"data": window_json(window, monitor, now=clock.now())}


@router.delete("/{window_id}", response_model=Message, dependencies=[require_role("ADMIN")])
async def remove(window_id: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """Delete a window; it stops withholding alerts at once."""
    window, _ = await _owned(session, auth, window_id)
    await delete_window(session, window)
    return {"message": "Maintenance window deleted successfully"}
