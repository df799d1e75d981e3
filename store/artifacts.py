"""Binary artifacts of checks (screenshots), kept in the store so any API process serves them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from store.base import new_id
from store.clock import Clock
from store.db import Store
from store.models import Artifact

CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def content_type(name: str) -> str:
    for suffix, kind in CONTENT_TYPES.items():
        if name.lower().endswith(suffix):
            return kind
    return "application/octet-stream"


async def save_artifact(
    store: Store, *, monitor_id: str, name: str, data: bytes, now: datetime
) -> str:
    """Keep ``data`` and return its reference (``art_...``) for a result's details."""
    artifact = Artifact(
        id=new_id("art"),
        monitor_id=monitor_id,
        name=name[:200],
        content_type=content_type(name),
        data=data,
        created_at=now,
    )
    async with store.transaction() as session:
        session.add(artifact)
    return artifact.id


def saver_for(
    store: Store, monitor_id: str, clock: Clock
) -> Callable[[str, bytes], Awaitable[str]]:
    """A ``CheckContext.save_artifact`` that files artifacts under one monitor."""

    async def save(name: str, data: bytes) -> str:
        return await save_artifact(
            store, monitor_id=monitor_id, name=name, data=data, now=clock.now()
        )

    return save


async def get_artifact(session: AsyncSession, monitor_id: str, artifact_id: str) -> Artifact | None:
    artifact = await session.get(Artifact, artifact_id)
    return artifact if artifact is not None and artifact.monitor_id == monitor_id else None
