"""Deleting monitors and status pages with what must go first: the API and ``vigil apply``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.evaluator import close_incident
from pages.subscribers import remove_page_channels
from store.models import Monitor
from store.status_page_models import StatusPage
from store.status_pages import delete_page


async def remove_monitor(session: AsyncSession, monitor: Monitor, *, now: datetime) -> None:
    """Close its incident (alerting the recovery), then delete it with its results."""
    await close_incident(session, monitor, now=now, reason="monitor deleted")
    await session.execute(delete(Monitor).where(Monitor.id == monitor.id))


async def remove_status_page(session: AsyncSession, page: StatusPage) -> None:
    """Delete the page; its subscribers' hidden channels first (they do not cascade)."""
    await remove_page_channels(session, page)
    await delete_page(session, page)
