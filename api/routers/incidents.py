"""``/api/incidents``: the organization's incidents with filters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import WithJsonSchema

from api.deps import AuthDep, SessionDep
from api.errors import invalid
from api.pagination import LimitQuery, PageQuery, TextQuery, page_params
from api.schemas.common import API_ERRORS, Paged
from api.schemas.monitors import Incident
from api.serialize import incident_json
from store.incidents import list_incidents

router = APIRouter(prefix="/api/incidents", tags=["incidents"], responses=API_ERRORS)


@router.get("", response_model=Paged[Incident], response_model_exclude_unset=True)
async def list_all(
    auth: AuthDep,
    session: SessionDep,
    status: Annotated[
        str | None,
        WithJsonSchema({"type": "string", "enum": ["", "active", "resolved"]}),
        Query(description="active or resolved; omit for all"),
    ] = None,
    monitorId: Annotated[TextQuery, Query(description="Only this monitor's")] = None,
    page: PageQuery = None,
    limit: LimitQuery = None,
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
