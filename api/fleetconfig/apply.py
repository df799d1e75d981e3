"""Making an organization match a document (``vigil apply``, ``POST /api/config/apply``).

One transaction: with ``prune``, resources a present section does not list are
deleted first (status pages, windows, monitors, then channels, so nothing is left
naming what is gone); then each section is created and updated in the order later
sections need it (channels, monitors, windows, pages). Every problem found is
collected; if there is any, ``ConfigError`` is raised and the transaction rolls
back, so a bad document applies nothing. A dry run runs the same steps and rolls
back, so its plan is exactly what an apply would do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.fleetconfig import channels, maintenance, monitors, status_pages
from api.fleetconfig.document import ConfigError, Document
from api.fleetconfig.plan import Plan
from api.fleetconfig.run import Run
from checks.target_policy import Network
from store.db import Store
from store.models import Organization
from store.orgs import lock_org

# In the order sections are applied; pruned in the reverse order.
_SECTIONS = (channels, monitors, maintenance, status_pages)


async def apply_document(
    session: AsyncSession,
    org: Organization,
    doc: Document,
    *,
    regions: tuple[str, ...],
    prune: bool,
    now: datetime,
    allowed: tuple[Network, ...] = (),
) -> Plan:
    """Apply ``doc`` in ``session``'s transaction; raises ``ConfigError`` on any problem."""
    # First: the plan's monitor count must not be raced by another apply or API call.
    await lock_org(session, org.id)
    run = Run(
        session=session, org=org, regions=regions, doc=doc, prune=prune, now=now, allowed=allowed
    )
    if prune:
        for section in reversed(_SECTIONS):
            await section.prune(run)
    for section in _SECTIONS:
        await section.apply(run)
    if run.issues:
        raise ConfigError(run.issues)
    return Plan(changes=run.changes(), prune=prune)


class _Rollback(Exception):
    def __init__(self, plan: Plan) -> None:
        super().__init__("dry run")
        self.plan = plan


async def apply_in_store(
    store: Store,
    org: Organization,
    doc: Document,
    *,
    regions: tuple[str, ...],
    prune: bool,
    dry_run: bool,
    now: datetime,
    before_commit: Callable[[Plan], Awaitable[None]] | None = None,
    allowed: tuple[Network, ...] = (),
) -> Plan:
    """Apply ``doc`` in a transaction of its own; a dry run rolls it back.

    ``before_commit`` sees the plan while the changes can still be rolled back
    (the CLI prints it there: the plan first, then the commit).
    """
    try:
        async with store.transaction() as session:
            plan = await apply_document(
                session, org, doc, regions=regions, prune=prune, now=now, allowed=allowed
            )
            plan.dry_run = dry_run
            if before_commit is not None:
                await before_commit(plan)
            if dry_run:
                raise _Rollback(plan)
    except _Rollback as rolled_back:
        return rolled_back.plan
    return plan
