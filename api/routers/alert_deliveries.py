"""``/api/alert-deliveries``: the delivery log (every alert to every channel, with its
attempts) and a manual retry for alerts that were not delivered."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import AuthDep, ClockDep, SessionDep
from api.errors import ApiError, invalid, not_found
from api.pagination import LimitQuery, PageQuery, TextQuery, page_params
from api.schemas.alerting import Delivery
from api.schemas.common import API_ERRORS, Data, Paged, one_of
from api.serialize import iso
from store.deliveries import STATUSES, attempts_of, get_delivery, list_deliveries, queue_again
from store.models import AlertAttempt, AlertOutbox

router = APIRouter(prefix="/api/alert-deliveries", tags=["alert-deliveries"], responses=API_ERRORS)


def attempt_json(a: AlertAttempt) -> dict[str, Any]:
    return {
        "startedAt": iso(a.attempted_at),
        "finishedAt": iso(a.finished_at),
        "outcome": a.outcome,
        "statusCode": a.status_code,
        "error": a.error,
        "durationMs": round(a.duration_ms, 1) if a.duration_ms is not None else None,
    }


def delivery_json(row: AlertOutbox, attempts: list[AlertAttempt]) -> dict[str, Any]:
    return {
        "id": row.id,
        "eventId": row.event_id,
        "eventType": row.event_type,
        "channelId": row.channel_id,
        "monitorId": row.monitor_id,
        "incidentId": row.incident_id,
        "status": row.status,
        "attemptCount": row.attempts,
        "nextAttemptAt": iso(row.next_attempt_at) if row.status == "pending" else None,
        "lastError": row.last_error,
        "createdAt": iso(row.created_at),
        "deliveredAt": iso(row.delivered_at),
        "failedAt": iso(row.failed_at),
        "attempts": [attempt_json(a) for a in attempts],
    }


@router.get(
    "",
    response_model=Paged[Delivery],
    responses={
        200: {
            "links": {
                "alert_deliveries_retry": {
                    "operationId": "alert_deliveries_retry",
                    "parameters": {"delivery_id": "$response.body#/data/0/id"},
                }
            }
        }
    },
)
async def list_all(
    auth: AuthDep,
    session: SessionDep,
    status: Annotated[
        str | None,
        one_of(("", *STATUSES)),
        Query(description="pending, delivered or failed (the dead letter); omit for all"),
    ] = None,
    channelId: Annotated[TextQuery, Query(description="Only this channel's")] = None,
    monitorId: Annotated[TextQuery, Query(description="Only this monitor's")] = None,
    page: PageQuery = None,
    limit: LimitQuery = None,
) -> dict[str, Any]:
    """Alerts newest first, each with every attempt; ``status=failed`` is the dead letter."""
    p = page_params(page, limit)
    if status not in (None, "", *STATUSES):
        raise invalid([("status", "must be one of " + ", ".join(STATUSES))])
    rows, total = await list_deliveries(
        session,
        auth.org_id,
        status=status or None,
        channel_id=channelId,
        monitor_id=monitorId,
        offset=p.offset,
        limit=p.limit,
    )
    return {"data": [delivery_json(r, a) for r, a in rows], "pagination": p.block(total)}


@router.post("/{delivery_id}/retry", response_model=Data[Delivery])
async def retry(
    delivery_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Send a failed (or still pending) alert again now, with a fresh retry window."""
    found = await get_delivery(session, auth.org_id, delivery_id, lock=True)
    if found is None:
        raise not_found("alert_delivery", label="Alert delivery")
    row, channel = found
    if row.status == "delivered":
        raise ApiError(409, "This alert was already delivered; nothing to retry")
    if not channel.is_active:
        raise ApiError(
            409, f"The channel {channel.name!r} is disabled; enable it, then retry this alert"
        )
    queue_again(row, now=clock.now())
    await session.flush()
    attempts = await attempts_of(session, [row.id])
    return {"data": delivery_json(row, attempts.get(row.id, []))}
