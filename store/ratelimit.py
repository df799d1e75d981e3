"""Per-minute request counters shared by every API process through the store.

A counter is named by a bucket: ``org:<id>`` (an organization's plan budget),
an API key id (a key's share of it), ``authfail:<address>`` (failed logins).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import RateLimitWindow

WINDOW_S = 60


async def peek(session: AsyncSession, key_id: str, *, now_s: float) -> tuple[int, int]:
    """The current window's count without adding to it; (count, window end unix s)."""
    window = int(now_s // WINDOW_S) * WINDOW_S
    count = await session.scalar(
        select(RateLimitWindow.count).where(
            RateLimitWindow.key_id == key_id, RateLimitWindow.window_start == window
        )
    )
    return int(count or 0), window + WINDOW_S


async def count_request(session: AsyncSession, key_id: str, *, now_s: float) -> tuple[int, int]:
    """Count one request in the current window; returns (count so far, window end unix s)."""
    window = int(now_s // WINDOW_S) * WINDOW_S
    values = {"key_id": key_id, "window_start": window, "count": 1}
    conflict = {
        "index_elements": ["key_id", "window_start"],
        "set_": {"count": RateLimitWindow.count + 1},
    }
    if session.get_bind().dialect.name == "postgresql":
        stmt = (
            postgresql.insert(RateLimitWindow)
            .values(values)
            .on_conflict_do_update(**conflict)  # type: ignore[arg-type]
            .returning(RateLimitWindow.count)
        )
    else:
        stmt = (
            sqlite.insert(RateLimitWindow)
            .values(values)
            .on_conflict_do_update(**conflict)  # type: ignore[arg-type]
            .returning(RateLimitWindow.count)
        )
    count = int((await session.execute(stmt)).scalar_one())
    if count == 1:
        # First request of a new window: the key's older windows are finished.
        await session.execute(
            delete(RateLimitWindow).where(
                RateLimitWindow.key_id == key_id, RateLimitWindow.window_start < window
            )
        )
    return count, window + WINDOW_S
