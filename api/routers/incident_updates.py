"""``/api/incidents/:id/updates``: a person's word on an incident, shown on status pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep, StoreDep
from api.errors import FieldIssue, invalid, not_found
from api.idempotency import run_create
from api.openapi import body, created
from api.schemas.common import API_ERRORS, Data
from api.schemas.incidents import (
    UPDATE_BODY_MAX,
    IncidentUpdateCreate,
    IncidentWithUpdates,
)
from api.schemas.incidents import IncidentUpdate as UpdateOut
from api.serialize import incident_json, iso
from pages.markdown import render
from store.base import new_id
from store.models import Incident, Monitor
from store.status_page_models import UPDATE_STATUSES, IncidentUpdate

router = APIRouter(prefix="/api/incidents", tags=["incidents"], responses=API_ERRORS)


def update_json(u: IncidentUpdate) -> dict[str, Any]:
    return {
        "id": u.id,
        "incidentId": u.incident_id,
        "status": u.status,
        "body": u.body,
        "html": str(render(u.body)),
        "createdAt": iso(u.created_at),
    }


async def _incident(
    session: AsyncSession, org_id: str, incident_id: str
) -> tuple[Incident, Monitor]:
    row = (
        await session.execute(
            select(Incident, Monitor)
            .join(Monitor, Monitor.id == Incident.monitor_id)
            .where(Incident.id == incident_id, Incident.org_id == org_id)
        )
    ).first()
    if row is None:
        raise not_found("incident")
    return row[0], row[1]


async def _updates(session: AsyncSession, incident_id: str) -> list[IncidentUpdate]:
    rows = await session.scalars(
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident_id)
        .order_by(IncidentUpdate.created_at, IncidentUpdate.id)
    )
    return list(rows)


def _read(body: dict[str, Any]) -> tuple[str, str]:
    issues: list[FieldIssue] = [
        (f, "is not an incident update field") for f in sorted(set(body) - {"status", "body"})
    ]
    status, text = body.get("status"), body.get("body")
    if status not in UPDATE_STATUSES:
        issues.append(("status", "must be one of " + ", ".join(UPDATE_STATUSES)))
    if not isinstance(text, str) or not text.strip():
        issues.append(("body", "is required: what is known, in markdown"))
    elif len(text) > UPDATE_BODY_MAX:
        issues.append(("body", f"must be at most {UPDATE_BODY_MAX} characters"))
    if issues:
        raise invalid(issues)
    assert isinstance(status, str) and isinstance(text, str)
    return status, text.strip()


@router.get("/{incident_id}", response_model=Data[IncidentWithUpdates])
async def get_one(incident_id: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """One incident with its updates, oldest first."""
    incident, monitor = await _incident(session, auth.org_id, incident_id)
    data = incident_json(incident, monitor)
    data["updates"] = [update_json(u) for u in await _updates(session, incident.id)]
    return {"data": data}


@router.get("/{incident_id}/updates", response_model=Data[list[UpdateOut]])
async def list_updates(incident_id: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """The incident's updates, oldest first."""
    incident, _ = await _incident(session, auth.org_id, incident_id)
    return {"data": [update_json(u) for u in await _updates(session, incident.id)]}


@router.post(
    "/{incident_id}/updates",
    status_code=201,
    response_model=Data[UpdateOut],
    openapi_extra=body(IncidentUpdateCreate),
    responses=created(
        "incident_id",
        **{
            op: {"incident_id": "$response.body#/data/incidentId"}
            for op in ("incidents_get_one", "incidents_list_updates", "incidents_create")
        },
    ),
)
async def create(
    incident_id: str, request: Request, auth: AuthDep, store: StoreDep, clock: ClockDep
) -> Any:
    """Add an update (investigating, identified, monitoring or resolved) with a markdown body."""
    body = await read_object(request)

    async def _create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        incident, _ = await _incident(session, auth.org_id, incident_id)
        status, text = _read(body)
        update = IncidentUpdate(
            id=new_id("iu"),
            incident_id=incident.id,
            status=status,
            body=text,
            created_at=clock.now(),
        )
        session.add(update)
        await session.flush()
        return 201, {"data": update_json(update)}

    return await run_create(request, auth, store, clock, _create)
