"""``/api/incidents``: the organization's incidents with filters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import AuthDep, SessionDep
from api.errors import invalid
from api.pagination import page_params
from api.serialize import incident_json
from store.incidents import list_incidents

router = APIRouter(prefix="/api/incidents", tags=["incidents"])


@router.get("")
async def list_all(
    auth: AuthDep,
    session: SessionDep,
    status: str | None = Query(None, description="active or resolved"),
    monitorId: str | None = Query(None),
    page: str | None = Query(None),
    limit: str | None = Query(None),
) -> dict[str, Any]:
    """Incidents newest first; ``status`` is active or resolved."""
    p = page_params(page, limit)
    if status not in (None, "", "active", "resolved"):
        raise invalid([("status", "must be 'active' or 'resolved'")])
    active = None if not status else status == "active"
    rows, total = await list_incidents(
        session, auth.org_id, active=active, monitor_id=monitorId, offset=p.offset, limit=p.limit
    )
    return {"data": [incident_json(i, m) for i, m in rows], "pagination": p.block(total)}
