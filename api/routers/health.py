"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import StoreDep
from api.errors import ApiError

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(store: StoreDep) -> dict[str, Any]:
    """The store answers."""
    try:
        async with store.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        raise ApiError(503, f"Store unreachable: {type(exc).__name__}: {exc}") from None
    return {"status": "ready"}
