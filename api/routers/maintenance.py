"""``/api/maintenance``: windows that withhold alerts, for one monitor or the whole org.

``isActive`` means what the reference means: the window is enabled. Whether it is
in force right now is the computed ``inProgress`` (enabled and ``startsAt <= now <
endsAt``), the same rule the evaluator applies through ``store.maintenance``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from pydantic import WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep, StoreDep, require_role
from api.errors import invalid, not_found
from api.idempotency import run_create
from api.maintenance_input import read_create, read_update
from api.openapi import body, created
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

router = APIRouter(prefix="/api/maintenance", tags=["maintenance"], responses=API_ERRORS)

FILTERS = ("active", "upcoming", "past")


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
        values, monitor, issues = await read_create(session, auth.org_id, body)
        if issues:
            raise invalid(issues)
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
    values, monitor, issues = await read_update(session, auth.org_id, window, monitor, body)
    if issues:
        raise invalid(issues)
    await update_window(session, window, values)
    return {"data": window_json(window, monitor, now=clock.now())}


@router.delete("/{window_id}", response_model=Message, dependencies=[require_role("ADMIN")])
async def remove(window_id: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """Delete a window; it stops withholding alerts at once."""
    window, _ = await _owned(session, auth, window_id)
    await delete_window(session, window)
    return {"message": "Maintenance window deleted successfully"}
