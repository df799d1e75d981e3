"""``vigil admin``: organizations, keys and workers by hand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from store.billing import change_plan
from store.clock import SystemClock
from store.config import Settings
from store.db import Store
from store.keys import create_key as store_key
from store.models import AlertChannel, Monitor, Worker
from store.orgs import SLUG_RE, org_by_slug, owner_of, set_trusted, slug_taken
from store.orgs import create_org as store_org
from store.plans import PLANS
from store.secrets import (
    SecretBox,
    generate_key,
    key_file_for,
    keys_from_environment,
    load_keys,
    write_key_file,
)


class UserError(Exception):
    """A problem the person running the command can fix; printed without a traceback."""


async def create_org(
    settings: Settings, *, name: str, slug: str, plan: str | None, trusted: bool | None = None
) -> str:
    """Create an organization with an owner; returns the owner's first key.

    ``trusted`` None takes the default for new organizations (VIGIL_TRUST_NEW_ORGS).
    """
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
                trusted=settings.trust_new_orgs if trusted is None else trusted,
            )
        return key
    finally:
        await store.close()


async def set_trust(settings: Settings, *, slug: str, trusted: bool) -> None:
    """Let the organization's checks and channels reach internal addresses, or stop them."""
    store = Store(settings.database_url)
    try:
        async with store.transaction() as session:
            if not await set_trusted(session, slug, trusted=trusted, now=SystemClock().now()):
                raise UserError(
                    f"no organization with slug {slug!r}; list them in the API "
                    "(GET /api/organization) or create it with 'vigil admin create-org'"
                )
    finally:
        await store.close()


async def rotate_secret_key(settings: Settings) -> str:
    """Re-encrypt every stored secret with the newest key; returns what to tell the operator.

    With VIGIL_SECRET_KEY the newest key is its first (the operator put the new key
    first, the old ones after); with the SQLite key file a new key is generated and
    the file keeps only it once every secret is re-encrypted.
    """
    url = settings.database_url
    from_env = bool(keys_from_environment())
    keys = load_keys(url)
    path = key_file_for(url)
    if not from_env:
        assert path is not None  # load_keys raised otherwise
        keys = [generate_key().encode(), *keys]
    store = Store(url, secret_box=SecretBox(keys))
    try:
        async with store.transaction() as session:
            channels = list(await session.scalars(select(AlertChannel)))
            for channel in channels:
                flag_modified(channel, "config")
            monitors = [
                m
                for m in await session.scalars(select(Monitor))
                if isinstance(m.config, dict) and m.config.get("headers")
            ]
            for monitor in monitors:
                flag_modified(monitor, "config")
    finally:
        await store.close()
    done = f"re-encrypted {len(channels)} alert channel(s) and {len(monitors)} monitor(s)"
    if from_env:
        return f"{done} with the first key of VIGIL_SECRET_KEY; the other keys may now be dropped"
    assert path is not None
    write_key_file(path, [keys[0].decode()])
    return f"{done} with a new key in {path}; restart Vigil so it reads the new key"


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


async def backfill_rollups(settings: Settings, *, since: str | None) -> int:
    """Rebuild the rollups from raw results (from ``since``'s UTC day); returns rows read."""
    from store.clock import utc
    from store.rollups import backfill

    start = None
    if since is not None:
        try:
            start = utc(datetime.fromisoformat(since.replace("Z", "+00:00")))
        except ValueError:
            raise UserError(
                f"--since {since!r} is not a date or time; write it as 2026-03-01 "
                "or 2026-03-01T00:00:00Z"
            ) from None
    store = Store(settings.database_url)
    try:
        async with store.transaction() as session:
            return await backfill(session, since=start)
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
