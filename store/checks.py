"""Reading check results: a monitor's history by time, with page or cursor paging."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import CheckResult, monitor_num


def _window(monitor_id: str, since: datetime | None, until: datetime | None) -> Select[CheckResult]:
    query = select(CheckResult).where(CheckResult.monitor_num == monitor_num(monitor_id))
    if since is not None:
        query = query.where(CheckResult.checked_at >= since)
    if until is not None:
        query = query.where(CheckResult.checked_at <= until)
    return query


async def count_checks(
    session: AsyncSession, monitor_id: str, *, since: datetime | None, until: datetime | None
) -> int:
    sub = _window(monitor_id, since, until).with_only_columns(CheckResult.id).subquery()
    return int(await session.scalar(select(func.count()).select_from(sub)) or 0)


async def list_checks(
    session: AsyncSession,
    monitor_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int = 0,
    after: tuple[datetime, int] | None = None,
) -> Sequence[CheckResult]:
    """Newest first. ``after`` is a cursor: (checked_at, id) of the last row already seen."""
    query = _window(monitor_id, since, until)
    if after is not None:
        at, row_id = after
        query = query.where(
            or_(
                CheckResult.checked_at < at,
                (CheckResult.checked_at == at) & (CheckResult.id < row_id),
            )
        )
    query = query.order_by(CheckResult.checked_at.desc(), CheckResult.id.desc())
    return (await session.scalars(query.offset(offset).limit(limit))).all()
