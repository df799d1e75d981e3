"""Channels whose deliveries keep failing: since when, how often, and whether the
organization's other channels were told.

A row exists while a channel is failing: the first failed attempt creates it, the
next delivered one deletes it. ``/api/status``, ``/metrics`` and the failing-channel
notice read it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Table, Text, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base


class ChannelHealth(Base):
    __tablename__ = "channel_health"

    channel_id: Mapped[str] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    failing_since: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the other channels were told; None until then.
    notified_at: Mapped[datetime | None]


async def note_failure(
    session: AsyncSession, channel_id: str, *, org_id: str, error: str | None, now: datetime
) -> ChannelHealth:
    """Count one failed attempt (two dispatchers may do so at once: an upsert)."""
    table: Table = ChannelHealth.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(
        channel_id=channel_id, org_id=org_id, failing_since=now, failures=1, last_error=error
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.channel_id],
        set_={"failures": table.c.failures + 1, "last_error": error},
    )
    await session.execute(stmt)
    row = await session.scalar(
        select(ChannelHealth)
        .where(ChannelHealth.channel_id == channel_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def note_success(session: AsyncSession, channel_id: str) -> None:
    await session.execute(delete(ChannelHealth).where(ChannelHealth.channel_id == channel_id))


async def failing_channels(
    session: AsyncSession, *, org_id: str | None = None
) -> list[ChannelHealth]:
    """Failing channels, longest failing first (of one organization, or all)."""
    query = select(ChannelHealth).order_by(ChannelHealth.failing_since)
    if org_id is not None:
        query = query.where(ChannelHealth.org_id == org_id)
    return list(await session.scalars(query))
