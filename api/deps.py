"""Dependencies: the store session, the clock, settings, and the authenticated key."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError, invalid
from store.clock import Clock
from store.config import Settings
from store.db import Store
from store.keys import KeyOwner, find_key, touch_key
from store.models import ApiKey, Organization, Role
from store.plans import limits_for
from store.ratelimit import count_request, peek

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


async def single_query_values(request: Request) -> None:
    """Refuse a query parameter given twice: FastAPI would silently keep the last value
    (``?limit=5&limit=`` meant the default 50). No endpoint takes a list in the query."""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise invalid([(name, "is given more than once; give it once") for name in repeated])


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


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _retry_after(reset: int, now_s: float) -> int:
    return max(1, math.ceil(reset - now_s))


# Declares bearer auth in the OpenAPI document; the header is parsed by _bearer.
_bearer_scheme = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")


async def authenticate(
    request: Request,
    store: StoreDep,
    clock: ClockDep,
    settings: SettingsDep,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Auth:
    """Check the bearer key, its expiry and scope, and count it against its rate limit.

    The plan's budget belongs to the organization, so extra keys do not add to it;
    ``VIGIL_KEY_RATE_SHARE`` caps what one key may use of it. An address that sent
    ``VIGIL_AUTH_FAILURES_PER_MINUTE`` bad keys is answered 429 for the rest of the
    minute without looking its keys up.
    """
    token = _bearer(request)
    now = clock.now()
    now_s = now.timestamp()
    failures_bucket = "authfail:" + client_address(request)
    async with store.transaction() as session:
        failures, reset = await peek(session, failures_bucket, now_s=now_s)
        if failures >= settings.auth_failures_per_minute:
            retry = _retry_after(reset, now_s)
            raise ApiError(
                429,
                f"Too many invalid API keys from this address; retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )
        owner = await find_key(session, token)
        refusal = _refusal(owner, now)
        if refusal is not None:
            # Committed with this transaction; the 401 is raised after it.
            await count_request(session, failures_bucket, now_s=now_s)
        else:
            assert owner is not None
            limit, remaining, reset = await _count(session, owner, settings, now_s=now_s)
            await touch_key(session, owner.key, now=now)
    if refusal is not None:
        raise ApiError(401, refusal)
    assert owner is not None
    headers = request.state.extra_headers
    headers["X-RateLimit-Limit"] = limit
    headers["X-RateLimit-Remaining"] = max(0, remaining)
    headers["X-RateLimit-Reset"] = reset
    if remaining < 0:
        retry = _retry_after(reset, now_s)
        org_limit = limits_for(owner.org.plan).requests_per_minute
        whose = (
            f"for this key (its share of the organization's {org_limit})"
            if limit < org_limit
            else f"on the {owner.org.plan} plan, shared by the organization's keys"
        )
        raise ApiError(
            429,
            f"Rate limit exceeded: {limit} requests per minute {whose}; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )
    assert owner.role is not None  # a key without a membership was refused above
    auth = Auth(key=owner.key, org=owner.org, role=owner.role)
    if request.method not in READ_METHODS:
        if not auth.can_write:
            raise ApiError(403, "This API key is read-only; use a key with write access")
        # Routes declare finer rules with require_role; this holds for any route that
        # forgets to: a VIEWER never writes.
        if auth.role == "VIEWER":
            raise ApiError(
                403,
                f"This needs an OWNER or ADMIN; your role in {auth.org.slug} is VIEWER. "
                "Ask an owner or admin of the organization",
            )
    return auth


def _refusal(owner: KeyOwner | None, now: datetime) -> str | None:
    """Why the presented key does not authenticate, or None."""
    if owner is None:
        return "Invalid API key"
    if owner.key.revoked_at is not None or owner.role is None:
        # role None: the key's member was removed from the organization.
        return "This API key was revoked; create a new one"
    if owner.key.expires_at is not None and owner.key.expires_at <= now:
        return f"This API key expired at {owner.key.expires_at.isoformat()}; create a new one"
    return None


async def _count(
    session: AsyncSession, owner: KeyOwner, settings: Settings, *, now_s: float
) -> tuple[int, int, int]:
    """Count the request for the organization (and the key's share); (limit, remaining, reset).

    Remaining is negative once over; the figures are those of the tighter limit.
    """
    org_limit = limits_for(owner.org.plan).requests_per_minute
    count, reset = await count_request(session, "org:" + owner.org.id, now_s=now_s)
    best = (org_limit, org_limit - count, reset)
    if settings.key_rate_share < 1:
        key_limit = max(1, math.floor(org_limit * settings.key_rate_share))
        key_count, _ = await count_request(session, owner.key.id, now_s=now_s)
        if key_limit - key_count < best[1]:
            best = (key_limit, key_limit - key_count, reset)
    return best


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
