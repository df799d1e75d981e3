"""API keys: random, prefixed, stored only as a SHA-256 hash, shown in full once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import new_id
from store.models import ApiKey, Member, Organization

KEY_PREFIX = "vigil_"


def generate_key() -> str:
    """A new key: the ``vigil_`` prefix and 192 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mask(prefix: str, last4: str) -> str:
    """How a stored key is shown after creation: ``vigil_ab...ef12``."""
    return f"{prefix}...{last4}"


def mask_plaintext(key: str) -> str:
    """The masked form of a full key, as it is listed after creation."""
    return mask(key[: len(KEY_PREFIX) + 2], key[-4:])


async def create_key(
    session: AsyncSession,
    *,
    org_id: str,
    user_id: str,
    name: str,
    now: datetime,
    plaintext: str | None = None,
    read_only: bool = False,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key (or the given plaintext) and return the row and the plaintext."""
    key = plaintext or generate_key()
    row = ApiKey(
        id=new_id("key"),
        org_id=org_id,
        user_id=user_id,
        name=name,
        key_hash=hash_key(key),
        prefix=key[: len(KEY_PREFIX) + 2],  # mask_plaintext() shows the same characters
        last4=key[-4:],
        read_only=read_only,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row, key


@dataclass(frozen=True)
class KeyOwner:
    """Who a presented key speaks for."""

    key: ApiKey
    org: Organization
    # None when the key's member was removed from the organization.
    role: str | None


async def find_key(session: AsyncSession, plaintext: str) -> KeyOwner | None:
    """The key row matching ``plaintext`` with its organization and role, revoked or not."""
    row = (
        await session.execute(
            select(ApiKey, Organization, Member.role)
            .join(Organization, Organization.id == ApiKey.org_id)
            .outerjoin(
                Member, (Member.user_id == ApiKey.user_id) & (Member.org_id == ApiKey.org_id)
            )
            .where(ApiKey.key_hash == hash_key(plaintext))
        )
    ).first()
    if row is None:
        return None
    return KeyOwner(key=row[0], org=row[1], role=row[2])


async def touch_key(session: AsyncSession, key: ApiKey, *, now: datetime) -> None:
    """Record use; at most once a minute per key so reads do not all become writes."""
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() >= 60:
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        key.last_used_at = now
