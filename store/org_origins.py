"""Which organization created another through the API, for the plan's allowance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base


class OrganizationOrigin(Base):
    """One row per organization created through ``POST /api/organization``.

    Organizations the operator creates (``vigil run``, ``vigil admin create-org``)
    have none: they may create organizations up to their plan's allowance; those
    created through the API may not create any, so the allowance cannot be chained.
    """

    __tablename__ = "organization_origins"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    created_by_org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]


async def created_through_api(session: AsyncSession, org_id: str) -> bool:
    found = await session.scalar(
        select(OrganizationOrigin.org_id).where(OrganizationOrigin.org_id == org_id)
    )
    return found is not None


async def count_created_by(session: AsyncSession, org_id: str) -> int:
    count = await session.scalar(
        select(func.count()).where(OrganizationOrigin.created_by_org_id == org_id)
    )
    return int(count or 0)


def record_origin(session: AsyncSession, org_id: str, *, creator: str, now: datetime) -> None:
    session.add(OrganizationOrigin(org_id=org_id, created_by_org_id=creator, created_at=now))
