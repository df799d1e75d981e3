"""Organizations, their owners and the first-run bootstrap."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import new_id
from store.keys import create_key
from store.models import Member, Organization, User

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:50].strip("-") or "org"


async def slug_taken(session: AsyncSession, slug: str, *, except_id: str | None = None) -> bool:
    query = select(Organization.id).where(Organization.slug == slug)
    if except_id:
        query = query.where(Organization.id != except_id)
    return (await session.scalar(query)) is not None


async def email_taken(session: AsyncSession, email: str) -> bool:
    return (await session.scalar(select(User.id).where(User.email == email))) is not None


async def create_org(
    session: AsyncSession,
    *,
    name: str,
    slug: str,
    plan: str,
    owner_email: str | None = None,
    owner_user_id: str | None = None,
    now: datetime,
    trusted: bool,
    key_plaintext: str | None = None,
) -> tuple[Organization, str]:
    """Create an organization with its OWNER and that owner's first API key.

    The owner is an existing user (``owner_user_id``, who then belongs to several
    organizations) or a new user with ``owner_email``. ``trusted`` lets its checks
    and channels reach internal addresses; it is the operator's decision
    (``Settings.trust_new_orgs``, ``vigil admin trust-org``).
    """
    org = Organization(
        id=new_id("org"),
        name=name,
        slug=slug,
        plan=plan,
        created_at=now,
        updated_at=now,
        trusted=trusted,
    )
    session.add(org)
    if owner_user_id is None:
        if owner_email is None:
            raise ValueError("create_org needs owner_email or owner_user_id")
        user = User(id=new_id("usr"), email=owner_email, name="Owner", created_at=now)
        session.add(user)
        owner_user_id = user.id
    await session.flush()
    session.add(
        Member(id=new_id("mem"), org_id=org.id, user_id=owner_user_id, role="OWNER", joined_at=now)
    )
    _, key = await create_key(
        session,
        org_id=org.id,
        user_id=owner_user_id,
        name="Admin key",
        now=now,
        plaintext=key_plaintext,
    )
    return org, key


async def lock_org(session: AsyncSession, org_id: str) -> None:
    """Hold the organization's row until the transaction ends, serialising its plan limits.

    Call it first in the transaction: a count taken after it (monitors, organizations
    created) cannot be raced by another API process. PostgreSQL locks the row; SQLite
    has one writer, so a no-op UPDATE takes the write lock, and the reads after it
    (the driver opens the transaction at the first write) see every earlier commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(Organization.id).where(Organization.id == org_id).with_for_update()
        )
    else:
        await session.execute(
            update(Organization)
            .where(Organization.id == org_id)
            .values(updated_at=Organization.updated_at)
        )


async def org_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Organization)) or 0)


async def org_by_slug(session: AsyncSession, slug: str) -> Organization | None:
    org: Organization | None = await session.scalar(
        select(Organization).where(Organization.slug == slug)
    )
    return org


async def owner_of(session: AsyncSession, org_id: str) -> str | None:
    """The user id of an organization's first OWNER."""
    user_id: str | None = await session.scalar(
        select(Member.user_id)
        .where(Member.org_id == org_id, Member.role == "OWNER")
        .order_by(Member.joined_at)
        .limit(1)
    )
    return user_id


async def set_trusted(session: AsyncSession, slug: str, *, trusted: bool, now: datetime) -> bool:
    """Trust or untrust the organization ``slug``; False when there is none."""
    org = await org_by_slug(session, slug)
    if org is None:
        return False
    org.trusted = trusted
    org.updated_at = now
    return True
