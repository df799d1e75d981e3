"""``vigil admin``: organizations, keys and workers by hand."""

from __future__ import annotations

from sqlalchemy import select

from store.billing import change_plan
from store.clock import SystemClock
from store.config import Settings
from store.db import Store
from store.keys import create_key as store_key
from store.models import Worker
from store.orgs import SLUG_RE, org_by_slug, owner_of, slug_taken
from store.orgs import create_org as store_org
from store.plans import PLANS


class UserError(Exception):
    """A problem the person running the command can fix; printed without a traceback."""


async def create_org(settings: Settings, *, name: str, slug: str, plan: str | None) -> str:
    """Create an organization with an owner; returns the owner's first key."""
    if not SLUG_RE.match(slug):
        raise UserError(f"slug {slug!r} must be lowercase letters, digits and hyphens")
    if plan is not None and plan not in PLANS:
        raise UserError(f"plan {plan!r} is not one of {', '.join(PLANS)}")
    store = Store(settings.database_url)
    try:
        async with store.transaction() as session:
            if await slug_taken(session, slug):
                raise UserError(f"an organization with slug {slug!r} already exists")
            _, key = await store_org(
                session,
                name=name,
                slug=slug,
                plan=plan or settings.default_plan,
                owner_email=f"owner@{slug}.local",
                now=SystemClock().now(),
            )
        return key
    finally:
        await store.close()


async def create_key(settings: Settings, *, org_slug: str, name: str, read_only: bool) -> str:
    """A new key for the organization's owner."""
    store = Store(settings.database_url)
    try:
        async with store.transaction() as session:
            org = await org_by_slug(session, org_slug)
            owner = await owner_of(session, org.id) if org else None
            if org is None or owner is None:
                raise UserError(
                    f"no organization with slug {org_slug!r}; create it with "
                    "'vigil admin create-org'"
                )
            _, key = await store_key(
                session,
                org_id=org.id,
                user_id=owner,
                name=name,
                now=SystemClock().now(),
                read_only=read_only,
            )
        return key
    finally:
        await store.close()


async def list_workers(settings: Settings) -> list[str]:
    """One line per registered worker."""
    store = Store(settings.database_url)
    try:
        async with store.transaction() as session:
            rows = await session.scalars(select(Worker).order_by(Worker.region, Worker.started_at))
            lines = [
                f"{w.region:<16} {w.id:<28} {w.host}:{w.pid} v{w.version} "
                f"last seen {w.last_seen_at.isoformat()}"
                for w in rows
            ]
        return lines or ["no workers registered"]
    finally:
        await store.close()


async def set_plan(settings: Settings, *, org_slug: str, plan: str) -> list[str]:
    """Put an organization on a plan by hand; returns the report lines to print."""
    if plan not in PLANS:
        raise UserError(f"plan {plan!r} is not one of {', '.join(PLANS)}")
    store = Store(settings.database_url)
    try:
        async with store.transaction() as session:
            org = await org_by_slug(session, org_slug)
            if org is None:
                raise UserError(f"no organization with slug {org_slug!r}")
            previous = org.plan
            report = await change_plan(session, org, plan, now=SystemClock().now())
        return [f"{org_slug}: plan {previous} -> {plan}", *report.lines()]
    finally:
        await store.close()
