"""``/api/api-keys``: a user's keys, shown in full only at creation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep, StoreDep, require_role
from api.errors import FieldIssue, invalid, not_found
from api.idempotency import run_create
from api.openapi import body, created
from api.pagination import parse_time
from api.schemas.account import Key, KeyCreate
from api.schemas.common import API_ERRORS, Data, Message
from api.serialize import iso, key_json
from store.keys import create_key
from store.models import ApiKey

router = APIRouter(prefix="/api/api-keys", tags=["api-keys"], responses=API_ERRORS)


@router.get("", response_model=Data[list[Key]])
async def list_all(auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """The caller's keys in this organization that are not revoked, masked (prefix + last 4)."""
    rows = await session.scalars(
        select(ApiKey)
        .where(
            ApiKey.org_id == auth.org_id,
            ApiKey.user_id == auth.key.user_id,
            ApiKey.revoked_at.is_(None),
        )
        .order_by(ApiKey.created_at.desc())
    )
    return {"data": [key_json(k) for k in rows]}


def _validate(
    body: dict[str, Any], now: datetime, *, creator_expires: datetime | None
) -> tuple[str, bool, datetime | None]:
    """(name, read only, expiry); a key never outlives the key that creates it."""
    issues: list[FieldIssue] = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        issues.append(("name", "is required"))
    elif len(name) > 100:
        issues.append(("name", "must be at most 100 characters"))
    read_only = body.get("readOnly", False)
    if not isinstance(read_only, bool):
        issues.append(("readOnly", "must be true or false"))
    expires = None
    raw_expiry = body.get("expiresAt")
    if raw_expiry is not None:
        if not isinstance(raw_expiry, str):
            issues.append(("expiresAt", "must be an ISO 8601 time"))
        else:
            expires = parse_time(raw_expiry, "expiresAt")
            if expires is not None and expires <= now:
                issues.append(("expiresAt", "must be in the future"))
            elif expires is not None and creator_expires and expires > creator_expires:
                issues.append(
                    (
                        "expiresAt",
                        f"must not be after {iso(creator_expires)}, when the key creating it "
                        "expires",
                    )
                )
    for name_ in sorted(set(body) - {"name", "readOnly", "expiresAt"}):
        issues.append((name_, "is not an API key field"))
    if issues:
        raise invalid(issues)
    # Left out, the expiry is the creator's: a key about to expire cannot mint a lasting one.
    return str(name).strip(), bool(read_only), expires or creator_expires


@router.post(
    "",
    status_code=201,
    response_model=Data[Key],
    openapi_extra=body(KeyCreate),
    responses=created("key_id", "api_keys_revoke"),
    dependencies=[require_role("ADMIN")],
)
async def create(request: Request, auth: AuthDep, store: StoreDep, clock: ClockDep) -> Any:
    """A new key for the caller's user; the response is the only time it is shown."""
    body = await read_object(request)
    name, read_only, expires = _validate(body, clock.now(), creator_expires=auth.key.expires_at)

    async def _create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        row, plaintext = await create_key(
            session,
            org_id=auth.org_id,
            user_id=auth.key.user_id,
            name=name,
            now=clock.now(),
            read_only=read_only,
            expires_at=expires,
        )
        return 201, {"data": key_json(row, plaintext=plaintext)}

    return await run_create(request, auth, store, clock, _create, secret_fields=("key",))


@router.delete("/{key_id}", response_model=Message, dependencies=[require_role("ADMIN")])
async def revoke(key_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep) -> Any:
    """Revoke a key: requests with it answer 401 from now on."""
    result = await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            ApiKey.org_id == auth.org_id,
            ApiKey.user_id == auth.key.user_id,
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=clock.now())
    )
    if getattr(result, "rowcount", 0) == 0:
        raise not_found("api_key", label="API key")
    return {"message": "API key revoked successfully"}
