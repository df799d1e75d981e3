"""The delivery log: outbox rows with their attempts, and a manual retry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AlertAttempt, AlertChannel, AlertOutbox

STATUSES = ("pending", "delivered", "failed")


async def list_deliveries(
    session: AsyncSession,
    org_id: str,
    *,
    status: str | None,
    channel_id: str | None,
    monitor_id: str | None,
    offset: int,
    limit: int,
) -> tuple[list[tuple[AlertOutbox, list[AlertAttempt]]], int]:
    """Newest first, each row with its attempts (oldest first), and the total."""
    where = [AlertOutbox.org_id == org_id]
    if status:
        where.append(AlertOutbox.status == status)
    if channel_id:
        where.append(AlertOutbox.channel_id == channel_id)
    if monitor_id:
        where.append(AlertOutbox.monitor_id == monitor_id)
    total = await session.scalar(select(func.count()).select_from(AlertOutbox).where(*where))
    rows = list(
        await session.scalars(
            select(AlertOutbox)
            .where(*where)
            .order_by(AlertOutbox.created_at.desc(), AlertOutbox.id)
            .offset(offset)
            .limit(limit)
        )
    )
    attempts = await attempts_of(session, [r.id for r in rows])
    return [(r, attempts.get(r.id, [])) for r in rows], int(total or 0)


async def attempts_of(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[AlertAttempt]]:
    out: dict[str, list[AlertAttempt]] = {}
    if not ids:
        return out
    found = await session.scalars(
        select(AlertAttempt)
        .where(AlertAttempt.outbox_id.in_(ids))
        .order_by(AlertAttempt.attempted_at, AlertAttempt.id)
    )
    for a in found:
        out.setdefault(a.outbox_id, []).append(a)
    return out


async def get_delivery(
    session: AsyncSession, org_id: str, row_id: str, *, lock: bool = False
) -> tuple[AlertOutbox, AlertChannel] | None:
    query = (
        select(AlertOutbox, AlertChannel)
        .join(AlertChannel, AlertChannel.id == AlertOutbox.channel_id)
        .where(AlertOutbox.id == row_id, AlertOutbox.org_id == org_id)
    )
    if lock:
        query = query.with_for_update(of=AlertOutbox)
    found = (await session.execute(query)).first()
    return None if found is None else (found[0], found[1])


def queue_again(row: AlertOutbox, *, now: datetime) -> None:
    """Make a row due now, with a fresh retry window (same event id)."""
    row.status = "pending"
    row.next_attempt_at = now
    row.retry_from_at = now
    row.failed_at = None
    row.lease_until = None
    row.attempt_id = None
