"""First start: an organization, its admin key and a demo monitor on an empty store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from store.config import Settings
from store.db import Store
from store.models import MonitorSchedule
from store.monitors import create_monitor
from store.orgs import create_org, org_count
from store.status_pages import ComponentSpec, create_page


@dataclass(frozen=True)
class Bootstrapped:
    org_id: str
    key: str
    demo_monitor_id: str | None
    status_page_slug: str | None = None


async def bootstrap(store: Store, settings: Settings, *, now: datetime) -> Bootstrapped | None:
    """Create the first organization and key if the store has none; else do nothing."""
    async with store.transaction() as session:
        if await org_count(session) > 0:
            return None
        org, key = await create_org(
            session,
            name="Default",
            slug="default",
            plan=settings.default_plan,
            owner_email="admin@localhost",
            now=now,
            # The operator's own organization: monitoring internal services is its job.
            trusted=True,
            key_plaintext=settings.bootstrap_key,
        )
        demo_id = None
        if settings.demo_monitor:
            demo = await create_monitor(
                session,
                org.id,
                {
                    "name": "Vigil itself (demo)",
                    "url": f"http://{settings.host}:{settings.port}/healthz",
                    "type": "HTTP",
                    "interval_s": 30,
                    "method": "GET",
                    "timeout_s": 10,
                    "regions": list(settings.regions),
                    "config": {},
                    "is_active": True,
                    "failure_threshold": 2,
                    "recovery_threshold": 1,
                    "region_quorum": 1,
                },
                now=now,
            )
            # A newcomer should see a result at once, not after a spread-out first run.
            await session.execute(
                update(MonitorSchedule)
                .where(MonitorSchedule.monitor_id == demo.id)
                .values(next_run_at=now)
            )
            demo_id = demo.id
            # Something to look at on the start page: the demo monitor's public page.
            page = await create_page(
                session,
                org.id,
                {"name": "Vigil demo", "slug": "demo", "description": "The demo monitor."},
                [ComponentSpec(monitor_id=demo.id, display_name="Vigil API")],
                now=now,
            )
            return Bootstrapped(org.id, key, demo_id, status_page_slug=page.slug)
        return Bootstrapped(org_id=org.id, key=key, demo_monitor_id=demo_id)
