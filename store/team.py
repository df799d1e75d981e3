"""Members of an organization: listing, inviting, accepting an invitation, removing."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import new_id
from store.models import ApiKey, Member, Organization, User
from store.team_models import Invitation

INVITE_PREFIX = "vinv_"
INVITE_VALID_FOR = timedelta(days=7)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def list_members(session: AsyncSession, org_id: str) -> Sequence[tuple[Member, User]]:
    """The organization's members with their users, by join date."""
    rows = await session.execute(
        select(Member, User)
        .join(User, User.id == Member.user_id)
        .where(Member.org_id == org_id)
        .order_by(Member.joined_at, Member.id)
    )
    return [(m, u) for m, u in rows]


async def pending_member_ids(session: AsyncSession, org_id: str) -> set[str]:
    """Members who have not yet accepted their invitation."""
    rows = await session.scalars(
        select(Invitation.member_id).where(
            Invitation.org_id == org_id, Invitation.accepted_at.is_(None)
        )
    )
    return set(rows)


async def get_member(
    session: AsyncSession, org_id: str, member_id: str
) -> tuple[Member, User] | None:
    row = (
        await session.execute(
            select(Member, User)
            .join(User, User.id == Member.user_id)
            .where(Member.org_id == org_id, Member.id == member_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class Invited:
    member: Member
    user: User
    token: str
    expires_at: datetime


async def invite(
    session: AsyncSession,
    *,
    org_id: str,
    email: str,
    role: str,
    name: str | None,
    invited_by: str,
    now: datetime,
) -> Invited | None:
    """Add the user with ``email`` (created when unknown) and a one-time acceptance token.

    None when that user is already a member of the organization.
    """
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(id=new_id("usr"), email=email, name=name, created_at=now)
        session.add(user)
        await session.flush()
    elif await session.scalar(
        select(Member.id).where(Member.org_id == org_id, Member.user_id == user.id)
    ):
        return None
    member = Member(id=new_id("mem"), org_id=org_id, user_id=user.id, role=role, joined_at=now)
    session.add(member)
    await session.flush()
    token = INVITE_PREFIX + secrets.token_urlsafe(24)
    expires_at = now + INVITE_VALID_FOR
    session.add(
        Invitation(
            id=new_id("inv"),
            org_id=org_id,
            member_id=member.id,
            token_hash=hash_token(token),
            invited_by=invited_by,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return Invited(member=member, user=user, token=token, expires_at=expires_at)


AcceptRefusal = Literal["unknown", "accepted", "expired"]


@dataclass(frozen=True)
class Acceptance:
    member: Member
    user: User
    org: Organization


async def accept(session: AsyncSession, token: str, *, now: datetime) -> Acceptance | AcceptRefusal:
    """Use up an invitation token; the caller then issues the member's key.

    The update only matches an unused token, so two concurrent acceptances of one
    token cannot both succeed.
    """
    row = (
        await session.execute(
            select(Invitation, Member, User, Organization)
            .join(Member, Member.id == Invitation.member_id)
            .join(User, User.id == Member.user_id)
            .join(Organization, Organization.id == Invitation.org_id)
            .where(Invitation.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        return "unknown"
    invitation, member, user, org = row
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.expires_at <= now:
        return "expired"
    used = await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=now)
    )
    if getattr(used, "rowcount", 0) != 1:
        return "accepted"
    return Acceptance(member=member, user=user, org=org)


async def remove_member(session: AsyncSession, member: Member, *, now: datetime) -> int:
    """Delete the membership and revoke its keys in that organization; returns keys revoked."""
    revoked = await session.execute(
        update(ApiKey)
        .where(
            ApiKey.org_id == member.org_id,
            ApiKey.user_id == member.user_id,
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    await session.execute(delete(Member).where(Member.id == member.id))
    return int(getattr(revoked, "rowcount", 0) or 0)
