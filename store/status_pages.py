"""Status page queries: pages with their components, by slug, by verified domain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import new_id
from store.models import Monitor
from store.status_page_models import StatusPage, StatusPageComponent


@dataclass(frozen=True)
class ComponentSpec:
    """A component as the API describes it, before it is stored."""

    monitor_id: str
    display_name: str
    group_name: str | None = None
    regions: tuple[str, ...] | None = None


Component = tuple[StatusPageComponent, Monitor]


async def page_by_slug(session: AsyncSession, slug: str) -> StatusPage | None:
    page: StatusPage | None = await session.scalar(
        select(StatusPage).where(StatusPage.slug == slug)
    )
    return page


async def page_by_domain(session: AsyncSession, domain: str) -> StatusPage | None:
    """The public page whose custom domain is ``domain`` and verified, if any."""
    page: StatusPage | None = await session.scalar(
        select(StatusPage).where(
            StatusPage.custom_domain == domain.lower(),
            StatusPage.domain_verified_at.is_not(None),
            StatusPage.is_public.is_(True),
        )
    )
    return page


async def slug_taken(session: AsyncSession, slug: str, *, except_id: str | None = None) -> bool:
    query = select(StatusPage.id).where(StatusPage.slug == slug)
    if except_id:
        query = query.where(StatusPage.id != except_id)
    return (await session.scalar(query)) is not None


async def domain_taken(session: AsyncSession, domain: str, *, except_id: str | None = None) -> bool:
    query = select(StatusPage.id).where(StatusPage.custom_domain == domain)
    if except_id:
        query = query.where(StatusPage.id != except_id)
    return (await session.scalar(query)) is not None


async def list_pages(session: AsyncSession, org_id: str) -> Sequence[StatusPage]:
    """The organization's pages, oldest first."""
    return (
        await session.scalars(
            select(StatusPage)
            .where(StatusPage.org_id == org_id)
            .order_by(StatusPage.created_at, StatusPage.id)
        )
    ).all()


async def public_pages(session: AsyncSession) -> Sequence[StatusPage]:
    """Every public page, by name (for the start page of a single deployment)."""
    return (
        await session.scalars(
            select(StatusPage)
            .where(StatusPage.is_public.is_(True))
            .order_by(StatusPage.name)
            .limit(100)
        )
    ).all()


async def components_of(
    session: AsyncSession, page_ids: Sequence[str]
) -> dict[str, list[Component]]:
    """Each page's components with their monitors, in display order."""
    out: dict[str, list[Component]] = {page_id: [] for page_id in page_ids}
    if not page_ids:
        return out
    rows = await session.execute(
        select(StatusPageComponent, Monitor)
        .join(Monitor, Monitor.id == StatusPageComponent.monitor_id)
        .where(StatusPageComponent.page_id.in_(page_ids))
        .order_by(StatusPageComponent.position, StatusPageComponent.id)
    )
    for component, monitor in rows:
        out[component.page_id].append((component, monitor))
    return out


async def create_page(
    session: AsyncSession,
    org_id: str,
    values: Mapping[str, Any],
    components: Sequence[ComponentSpec],
    *,
    now: datetime,
) -> StatusPage:
    page = StatusPage(id=new_id("sp"), org_id=org_id, created_at=now, updated_at=now, **values)
    session.add(page)
    await session.flush()
    await replace_components(session, page, components)
    return page


async def update_page(
    session: AsyncSession,
    page: StatusPage,
    values: Mapping[str, Any],
    components: Sequence[ComponentSpec] | None,
    *,
    now: datetime,
) -> None:
    """Set the given columns; ``components`` (when given) replaces the whole list."""
    for column, value in values.items():
        setattr(page, column, value)
    page.updated_at = now
    if components is not None:
        await replace_components(session, page, components)
    await session.flush()


async def replace_components(
    session: AsyncSession, page: StatusPage, components: Sequence[ComponentSpec]
) -> None:
    await session.execute(delete(StatusPageComponent).where(StatusPageComponent.page_id == page.id))
    for position, spec in enumerate(components):
        session.add(
            StatusPageComponent(
                id=new_id("spc"),
                page_id=page.id,
                monitor_id=spec.monitor_id,
                display_name=spec.display_name,
                group_name=spec.group_name,
                position=position,
                regions=list(spec.regions) if spec.regions is not None else None,
            )
        )
    await session.flush()


async def delete_page(session: AsyncSession, page: StatusPage) -> None:
    """Delete the page; components, notices and subscribers go with it (cascade)."""
    await session.execute(delete(StatusPage).where(StatusPage.id == page.id))
