"""Liveness and readiness."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import StoreDep
from api.errors import ApiError
from api.schemas.common import errors
from api.schemas.system import Health

log = logging.getLogger("vigil.api")

router = APIRouter(tags=["system"], responses=errors(500, 503))


@router.get("/healthz", response_model=Health)
async def healthz() -> dict[str, Any]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Health)
async def readyz(store: StoreDep) -> dict[str, Any]:
    """The store answers."""
    try:
        async with store.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        # The cause (host, user, database) goes to the log, not to the public.
        log.warning("readiness: store unreachable: %s: %s", type(exc).__name__, exc)
        raise ApiError(503, "Store unreachable; see the API's log for the cause") from None
    return {"status": "ready"}
