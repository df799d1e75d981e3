"""Dependencies: the store session, the clock, settings, and the authenticated key."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from store.clock import Clock
from store.config import Settings
from store.db import Store
from store.keys import find_key, touch_key
from store.models import ApiKey, Organization, Role
from store.plans import limits_for
from store.ratelimit import count_request

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_store(request: Request) -> Store:
    # async, so FastAPI calls it inline rather than in its thread pool.
    store: Store = request.app.state.store
    return store


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, inside one transaction committed when the handler returns."""
    async with (await get_store(request)).transaction() as session:
        yield session


StoreDep = Annotated[Store, Depends(get_store)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": commit before the response goes out, so a failed commit is
# answered as an error (not 200) and the client's next request sees the write.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Auth:
    """The caller: its key, organization and role."""

    key: ApiKey
    org: Organization
    role: str

    @property
    def org_id(self) -> str:
        return self.org.id

    @property
    def can_write(self) -> bool:
        """Whether the key's scope allows writes; the role is checked by ``require_role``."""
        return not self.key.read_only


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(401, "Missing API key: send the header 'Authorization: Bearer <key>'")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Malformed Authorization header: expected 'Bearer <key>'")
    return token.strip()


async def authenticate(request: Request, store: StoreDep, clock: ClockDep) -> Auth:
    """Check the bearer key, its expiry and scope, and count it against its rate limit."""
    token = _bearer(request)
    now = clock.now()
    async with store.transaction() as session:
        owner = await find_key(session, token)
        if owner is None:
            raise ApiError(401, "Invalid API key")
        if owner.key.revoked_at is not None or owner.role is None:
            raise ApiError(401, "This API key was revoked; create a new one")
        if owner.key.expires_at is not None and owner.key.expires_at <= now:
            raise ApiError(
                401, f"This API key expired at {owner.key.expires_at.isoformat()}; create a new one"
            )
        count, reset = await count_request(session, owner.key.id, now_s=now.timestamp())
        await touch_key(session, owner.key, now=now)
    limit = limits_for(owner.org.plan).requests_per_minute
    headers = request.state.extra_headers
    headers["X-RateLimit-Limit"] = limit
    headers["X-RateLimit-Remaining"] = max(0, limit - count)
    headers["X-RateLimit-Reset"] = reset
    if count > limit:
        retry = max(1, math.ceil(reset - now.timestamp()))
        raise ApiError(
            429,
            f"Rate limit exceeded: {limit} requests per minute on the {owner.org.plan} plan; "
            f"retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )
    auth = Auth(key=owner.key, org=owner.org, role=owner.role)
    if request.method not in READ_METHODS and not auth.can_write:
        raise ApiError(403, "This API key is read-only; use a key with write access")
    return auth


AuthDep = Annotated[Auth, Depends(authenticate)]

ROLE_RANK: dict[str, int] = {"VIEWER": 0, "ADMIN": 1, "OWNER": 2}


def require_role(role: Role) -> Any:
    """A route dependency: the caller's role must be ``role`` or above (VIEWER < ADMIN < OWNER).

    Every route that writes declares one (``dependencies=[require_role("ADMIN")]``);
    tests walk the OpenAPI document to check that a VIEWER's key is refused by all.
    """

    async def check(auth: AuthDep) -> None:
        if ROLE_RANK.get(auth.role, -1) < ROLE_RANK[role]:
            needs = "an OWNER" if role == "OWNER" else "an OWNER or ADMIN"
            raise ApiError(
                403,
                f"This needs {needs}; your role in {auth.org.slug} is {auth.role}. "
                "Ask an owner or admin of the organization",
            )

    return Depends(check)
