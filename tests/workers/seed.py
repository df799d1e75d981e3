"""Rows for worker tests: an organization and monitors, inserted through the models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from store.base import new_id
from store.db import Store
from store.models import Monitor, Organization
from store.schedules import sync_schedules


async def add_monitors(
    store: Store,
    count: int,
    *,
    url: str,
    now: datetime,
    interval_s: int = 60,
    timeout_s: int = 5,
    regions: Sequence[str] = ("local",),
    type: str = "HTTP",
    trusted: bool = True,
) -> list[str]:
    """Create an organization with ``count`` active monitors and their schedule rows."""
    async with store.transaction() as session:
        org = Organization(
            id=new_id("org"),
            name="Acme",
            slug=new_id("acme"),
            plan="ENTERPRISE",
            created_at=now,
            updated_at=now,
            trusted=trusted,
        )
        session.add(org)
        await session.flush()
        monitors = [
            Monitor(
                id=new_id("mon"),
                org_id=org.id,
                name=f"site {i}",
                url=url,
                type=type,
                interval_s=interval_s,
                is_active=True,
                method="GET",
                timeout_s=timeout_s,
                regions=list(regions),
                config={},
                failure_threshold=2,
                recovery_threshold=1,
                region_quorum=1,
                created_at=now,
                updated_at=now,
            )
            for i in range(count)
        ]
        session.add_all(monitors)
        await session.flush()
        for monitor in monitors:
            await sync_schedules(session, monitor, now=now)
    return [m.id for m in monitors]
