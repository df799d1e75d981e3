"""Monitor queries: each monitor's latest result, for lists of any length."""

from __future__ import annotations

from datetime import timedelta

from store.base import new_id
from store.clock import FrozenClock
from store.db import Store
from store.models import CheckResult, Monitor
from store.monitors import LAST_CHECKS_SLICE, last_checks
from store.orgs import create_org
from tests.store.history import nums_of


async def test_last_checks_of_more_monitors_than_one_slice(
    store: Store, clock: FrozenClock
) -> None:
    now = clock.now()
    count = LAST_CHECKS_SLICE + 1
    async with store.transaction() as session:
        org, _ = await create_org(
            session,
            name="A",
            slug="a",
            plan="ENTERPRISE",
            owner_email="a@a.test",
            now=now,
            trusted=True,
        )
        ids = [new_id("mon") for _ in range(count)]
        session.add_all(
            Monitor(
                id=i,
                org_id=org.id,
                name="m",
                url="https://e.com",
                type="HTTP",
                interval_s=60,
                regions=["local"],
                config={},
                created_at=now,
                updated_at=now,
            )
            for i in ids
        )
        await session.flush()
        nums = await nums_of(session, *ids)
        # The first and the last of the list, on both sides of the slice boundary.
        for monitor_id in (ids[0], ids[LAST_CHECKS_SLICE - 1], ids[-1]):
            for age, status in ((2, "DOWN"), (1, "UP")):
                session.add(
                    CheckResult(
                        monitor_num=nums[monitor_id],
                        region="local",
                        status=status,
                        checked_at=now - timedelta(minutes=age),
                    )
                )

    async with store.transaction() as session:
        latest = await last_checks(session, ids)

    assert {m: r.status for m, r in latest.items()} == {
        ids[0]: "UP",
        ids[LAST_CHECKS_SLICE - 1]: "UP",
        ids[-1]: "UP",
    }
