"""``vigil export`` and ``vigil apply``: an organization's configuration as a YAML file.

Both work on the store directly (as ``vigil admin`` does), for the organization
``--org`` names, or the only one there is. References (``${NAME}``) resolve from
this process's environment. See docs/monitors-as-code.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.fleetconfig.apply import apply_in_store
from api.fleetconfig.document import ConfigError, parse
from api.fleetconfig.export import DuplicateNamesError, Exported, export
from api.fleetconfig.plan import Plan
from checks.target_policy import parse_networks
from store.clock import SystemClock
from store.config import Settings
from store.db import Store
from store.models import Organization
from store.orgs import org_by_slug
from workers.admin import UserError


async def _organization(session: AsyncSession, slug: str | None) -> Organization:
    if slug is not None:
        org = await org_by_slug(session, slug)
        if org is None:
            raise UserError(
                f"no organization with slug {slug!r}; create it with 'vigil admin create-org'"
            )
        return org
    orgs = list(await session.scalars(select(Organization).order_by(Organization.slug).limit(21)))
    if len(orgs) == 1:
        return orgs[0]
    if not orgs:
        raise UserError("the store has no organization yet; start 'vigil run' once first")
    slugs = ", ".join(o.slug for o in orgs[:20]) + (", ..." if len(orgs) > 20 else "")
    raise UserError(f"the store has several organizations; say which with --org ({slugs})")


async def export_org(settings: Settings, *, org_slug: str | None) -> Exported:
    """The organization's document."""
    store = Store(settings.database_url)
    try:
        async with store.transaction() as session:
            org = await _organization(session, org_slug)
            return await export(session, org, regions=tuple(settings.regions))
    except DuplicateNamesError as exc:
        raise UserError(f"cannot export: {exc}") from None
    finally:
        await store.close()


def read_source(path: str) -> tuple[str, str]:
    """(name for messages, text) of the file ``path``; ``-`` reads standard input."""
    if path == "-":
        return "<stdin>", sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return path, f.read()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None


async def apply_file(
    settings: Settings,
    *,
    path: str,
    org_slug: str | None,
    dry_run: bool,
    prune: bool,
    show: Callable[[str], None],
    variables: Mapping[str, str] | None = None,
) -> Plan:
    """Apply the file to the organization, showing the plan before it is committed."""
    source, text = read_source(path)
    try:
        doc = parse(text, variables=os.environ if variables is None else variables)
    except ConfigError as exc:
        raise _problems(source, exc) from None
    store = Store(settings.database_url)

    async def show_plan(plan: Plan) -> None:
        for line in plan.lines():
            show(line)

    try:
        async with store.transaction() as session:
            org = await _organization(session, org_slug)
        return await apply_in_store(
            store,
            org,
            doc,
            regions=tuple(settings.regions),
            prune=prune,
            dry_run=dry_run,
            now=SystemClock().now(),
            before_commit=show_plan,
            allowed=parse_networks(settings.allowed_targets_csv),
        )
    except ConfigError as exc:
        raise _problems(source, exc) from None
    finally:
        await store.close()


def _problems(source: str, exc: ConfigError) -> UserError:
    n = len(exc.issues)
    lines = exc.render(source)
    return UserError(
        f"nothing was applied: {source} has {n} problem{'s' if n != 1 else ''}:\n"
        + "\n".join(lines)
    )
