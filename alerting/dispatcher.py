"""The dispatcher: claims due outbox rows, delivers them, retries with backoff.

A row is claimed by setting a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
any number of dispatchers share the outbox). It is marked delivered only after the
channel accepted it; a dispatcher killed mid-delivery leaves the lease to lapse and
the row is delivered again (at least once; the event id lets receivers
de-duplicate). Every attempt is recorded in ``alert_attempts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from alerting.channels.base import ChannelSpec, Delivery, DeliveryContext
from alerting.channels.registry import deliver_via
from alerting.outbox import event_from_json
from checks.target_policy import parse_networks
from store.clock import Clock, SystemClock
from store.config import Settings
from store.db import Store
from store.models import AlertAttempt, AlertChannel, AlertOutbox, Organization

log = logging.getLogger(__name__)
_EARLIER = aliased(AlertOutbox)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``max_attempts`` counts the first try."""

    base_s: float = 10.0
    cap_s: float = 900.0
    max_attempts: int = 6

    def delay_s(self, attempts: int) -> float:
        """Wait before the next try after ``attempts`` failed ones (jitter 50-150 %)."""
        raw = min(self.cap_s, self.base_s * 2 ** (attempts - 1))
        return float(raw * random.uniform(0.5, 1.5))


def delivery_context(settings: Settings) -> DeliveryContext:
    return DeliveryContext(
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_user=settings.smtp_user,
        smtp_password=settings.smtp_password,
        smtp_from=settings.smtp_from,
        smtp_starttls=settings.smtp_starttls,
        pagerduty_events_url=settings.pagerduty_events_url,
        allowed_targets=parse_networks(settings.allowed_targets_csv),
    )


@dataclass(frozen=True)
class Claimed:
    row_id: str
    attempts: int
    payload: dict[str, object]
    channel: ChannelSpec | None


class Dispatcher:
    """Delivers the outbox until stopped."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Clock | None = None,
        policy: RetryPolicy | None = None,
        lease_s: float = 60.0,
        batch: int = 20,
        poll_s: float = 0.5,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.policy = policy or RetryPolicy(base_s=settings.alert_retry_base_s)
        self.ctx = delivery_context(settings)
        self.lease_s = lease_s
        self.batch = batch
        self.poll_s = poll_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def claim(self) -> list[Claimed]:
        """Lease up to ``batch`` due rows."""
        now = self.clock.now()
        async with self.store.transaction() as session:
            due = (
                select(AlertOutbox.id)
                .where(
                    AlertOutbox.status == "pending",
                    AlertOutbox.next_attempt_at <= now,
                    or_(AlertOutbox.lease_until.is_(None), AlertOutbox.lease_until < now),
                    # One incident's alerts reach a channel in order: a recovery
                    # waits while its DOWN alert is still being retried.
                    ~exists().where(
                        _EARLIER.incident_id == AlertOutbox.incident_id,
                        _EARLIER.channel_id == AlertOutbox.channel_id,
                        _EARLIER.status == "pending",
                        _EARLIER.created_at < AlertOutbox.created_at,
                    ),
                )
                .order_by(AlertOutbox.next_attempt_at)
                .limit(self.batch)
            )
            if self.store.is_postgres:
                due = due.with_for_update(skip_locked=True)
            ids = list(await session.scalars(due))
            if not ids:
                return []
            await session.execute(
                update(AlertOutbox)
                .where(AlertOutbox.id.in_(ids))
                .values(lease_until=now + timedelta(seconds=self.lease_s))
            )
            return await self._load(session, ids)

    async def _load(self, session: AsyncSession, ids: Sequence[str]) -> list[Claimed]:
        rows = await session.execute(
            select(AlertOutbox, AlertChannel, Organization.trusted)
            .join(AlertChannel, AlertChannel.id == AlertOutbox.channel_id)
            .join(Organization, Organization.id == AlertChannel.org_id)
            .where(AlertOutbox.id.in_(ids))
        )
        out = []
        for row, channel, trusted in rows:
            spec = (
                ChannelSpec(
                    id=channel.id,
                    name=channel.name,
                    type=channel.type,
                    config=channel.config,
                    trusted=trusted,
                )
                if channel.is_active
                else None
            )
            out.append(Claimed(row.id, row.attempts, dict(row.payload), spec))
        return out

    async def deliver(self, item: Claimed) -> Delivery:
        """Deliver one claimed row and record the attempt and the row's new state."""
        started = time.perf_counter()
        if item.channel is None:
            result = Delivery(ok=False, permanent=True, error="The channel is disabled")
        else:
            try:
                result = await deliver_via(item.channel, event_from_json(item.payload), self.ctx)
            except Exception as exc:  # a bug in a channel must not stop the dispatcher
                log.exception("channel %s raised", item.channel.id)
                result = Delivery(ok=False, error=f"Internal error: {type(exc).__name__}: {exc}")
        await self._record(item, result, duration_ms=(time.perf_counter() - started) * 1000)
        return result

    async def _record(self, item: Claimed, result: Delivery, *, duration_ms: float) -> None:
        now = self.clock.now()
        attempts = item.attempts + 1
        values: dict[str, object] = {"attempts": attempts, "lease_until": None}
        if result.ok:
            values.update(status="delivered", delivered_at=now, last_error=None)
        elif result.permanent or attempts >= self.policy.max_attempts:
            values.update(status="failed", last_error=result.error)
            log.warning(
                "alert %s failed after %d attempts: %s", item.row_id, attempts, result.error
            )
        else:
            delay = timedelta(seconds=self.policy.delay_s(attempts))
            values.update(next_attempt_at=now + delay, last_error=result.error)
        async with self.store.transaction() as session:
            session.add(
                AlertAttempt(
                    outbox_id=item.row_id,
                    attempted_at=now,
                    ok=result.ok,
                    status_code=result.status_code,
                    error=result.error,
                    duration_ms=duration_ms,
                )
            )
            await session.execute(
                update(AlertOutbox).where(AlertOutbox.id == item.row_id).values(**values)
            )

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many rows were attempted."""
        claimed = await self.claim()
        if claimed:
            await asyncio.gather(*(self.deliver(c) for c in claimed))
        return len(claimed)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if await self.run_once():
                    continue
            except Exception:
                log.exception("dispatcher pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_s)

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="dispatcher")

    async def stop(self) -> None:
        """Finish the deliveries in hand, then stop claiming."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
