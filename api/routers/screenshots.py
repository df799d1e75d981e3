"""``/api/monitors/:id/checks/:checkId/screenshot``: a browser check's failure screenshot."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import AuthDep, SessionDep
from api.errors import ApiError, invalid, not_found
from api.schemas.common import API_ERRORS
from api.serialize import parse_check_id
from store.artifacts import get_artifact
from store.models import CheckResult, monitor_num
from store.monitors import get_monitor

router = APIRouter(prefix="/api/monitors", tags=["monitors"], responses=API_ERRORS)


@router.get(
    "/{monitor_id}/checks/{check_id}/screenshot",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The screenshot (PNG)",
        }
    },
)
async def screenshot(
    monitor_id: str, check_id: str, auth: AuthDep, session: SessionDep
) -> Response:
    """The screenshot a browser check took (on failure, or by a ``screenshot`` step)."""
    monitor = await get_monitor(session, auth.org_id, monitor_id)
    if monitor is None:
        raise not_found("monitor")
    row_id = parse_check_id(check_id)
    if row_id is None:
        raise invalid([("checkId", "must be a check id like chk_123 (ASCII digits)")])
    result = await session.scalar(
        select(CheckResult).where(
            CheckResult.id == row_id, CheckResult.monitor_num == monitor_num(monitor.id)
        )
    )
    if result is None:
        raise not_found("check")
    reference = (result.details or {}).get("screenshot")
    artifact = (
        await get_artifact(session, monitor.id, reference) if isinstance(reference, str) else None
    )
    if artifact is None:
        raise ApiError(404, "This check has no screenshot", code="screenshot_not_found")
    return Response(content=artifact.data, media_type=artifact.content_type)
