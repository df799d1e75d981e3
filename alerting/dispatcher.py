"""The dispatcher: claims due outbox rows, delivers them, retries with backoff.

A row is claimed by setting a short lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so any number of dispatchers share the outbox) and writing its attempt
(``in_flight``) in the same transaction. The lease is renewed while the channel
works; a dispatcher killed mid-delivery stops renewing, and within ``lease_s`` a
peer (or the restarted process) takes the row over, marks the attempt
``interrupted`` and delivers again with the same event id (at least once;
receivers de-duplicate on it). The retry schedule and the dead letter are in
``alerting.retry``.

An incident's alerts reach a channel in order: a reminder or RECOVERED waits
while its DOWN is pending; when the DOWN was dead-lettered the RECOVERED says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from alerting.channels.base import ChannelSpec, Delivery, DeliveryContext
from alerting.channels.registry import deliver_via
from alerting.messages import format_duration
from alerting.notices import notify_failing
from alerting.outbox import event_from_json
from alerting.retry import RetryPolicy
from checks.target_policy import parse_networks
from store.channel_health import note_failure, note_success
from store.clock import Clock, SystemClock, utc
from store.config import Settings
from store.db import Store
from store.logcontext import bound
from store.models import AlertAttempt, AlertChannel, AlertOutbox, Organization
from store.outage import OutageLog
from telemetry.metrics import ALERT_ATTEMPTS, ALERT_OLDEST_PENDING, ALERT_OUTBOX, outcome_of

log = logging.getLogger(__name__)
# How often the outbox gauges are re-counted (one grouped query).
GAUGES_EVERY_S = 5.0
_EARLIER = aliased(AlertOutbox)
DOWN_TYPES = ("monitor.down", "heartbeat.missed")
INTERRUPTED = "The dispatcher stopped before the channel answered; delivered again"

# Channels end a retryable error with this promise; the last attempt must not.
_RETRY_PROMISE = re.compile(r"[;,] will retry\b")

__all__ = ["Claimed", "Dispatcher", "RetryPolicy", "delivery_context"]


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


def _str_or_none(value: object) -> str | None:
    return str(value) if value else None


def policy_from(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_s=settings.alert_retry_base_s,
        cap_s=settings.alert_retry_cap_s,
        window_s=settings.alert_retry_window_s,
    )


@dataclass(frozen=True)
class Claimed:
    row_id: str
    attempt_id: int
    attempts: int
    payload: dict[str, object]
    channel: ChannelSpec | None
    channel_name: str
    org_id: str
    event_type: str
    window_from: datetime


class Dispatcher:
    """Delivers the outbox until stopped."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Clock | None = None,
        policy: RetryPolicy | None = None,
        lease_s: float | None = None,
        batch: int = 20,
        poll_s: float = 0.5,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.policy = policy or policy_from(settings)
        self.ctx = delivery_context(settings)
        # A channel answers within its timeout; the margin covers a slow commit.
        self.lease_s = lease_s if lease_s is not None else settings.dispatch_lease_s
        self.notice_after_s = settings.channel_notice_after_s
        self.batch = batch
        self.poll_s = poll_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._outage = OutageLog(log, "dispatcher")

    async def claim(self) -> list[Claimed]:
        """Lease up to ``batch`` due rows and write their attempts (in flight)."""
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
            # Attempts still in flight belong to a dispatcher whose lease lapsed.
            await session.execute(
                update(AlertAttempt)
                .where(AlertAttempt.outbox_id.in_(ids), AlertAttempt.outcome == "in_flight")
                .values(outcome="interrupted", finished_at=now, error=INTERRUPTED)
            )
            attempts = {
                row_id: AlertAttempt(
                    outbox_id=row_id, attempted_at=now, ok=False, outcome="in_flight"
                )
                for row_id in ids
            }
            session.add_all(attempts.values())
            await session.flush()
            table: Table = AlertOutbox.__table__  # type: ignore[assignment]
            await session.execute(
                update(table)
                .where(table.c.id == bindparam("row"))
                .values(lease_until=bindparam("lease"), attempt_id=bindparam("attempt")),
                [
                    {
                        "row": row_id,
                        "lease": now + timedelta(seconds=self.lease_s),
                        "attempt": a.id,
                    }
                    for row_id, a in attempts.items()
                ],
            )
            return await self._load(session, {r: a.id for r, a in attempts.items()})

    async def _load(self, session: AsyncSession, attempts: dict[str, int]) -> list[Claimed]:
        rows = await session.execute(
            select(AlertOutbox, AlertChannel, Organization.trusted)
            .join(AlertChannel, AlertChannel.id == AlertOutbox.channel_id)
            .join(Organization, Organization.id == AlertChannel.org_id)
            .where(AlertOutbox.id.in_(attempts))
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
            payload = dict(row.payload)
            if row.event_type == "monitor.up" and await self._down_undelivered(session, row):
                payload["details"] = {**dict(payload.get("details") or {}), "downUndelivered": True}
            out.append(
                Claimed(
                    row_id=row.id,
                    attempt_id=attempts[row.id],
                    attempts=row.attempts,
                    payload=payload,
                    channel=spec,
                    channel_name=channel.name,
                    org_id=row.org_id,
                    event_type=row.event_type,
                    window_from=utc(row.retry_from_at or row.created_at),
                )
            )
        return out

    async def _down_undelivered(self, session: AsyncSession, row: AlertOutbox) -> bool:
        """Whether this recovery's DOWN alert to the same channel was dead-lettered."""
        if row.incident_id is None:
            return False
        failed = await session.scalar(
            select(
                exists().where(
                    AlertOutbox.incident_id == row.incident_id,
                    AlertOutbox.channel_id == row.channel_id,
                    AlertOutbox.event_type.in_(DOWN_TYPES),
                    AlertOutbox.status == "failed",
                )
            )
        )
        return bool(failed)

    async def deliver(self, item: Claimed) -> Delivery:
        """Deliver one claimed row and record the attempt and the row's new state."""
        with bound(
            alertEventId=str(item.payload.get("id") or ""),
            incidentId=_str_or_none(item.payload.get("incidentId")),
            monitorId=_str_or_none(item.payload.get("monitorId")),
        ):
            return await self._deliver(item)

    async def _deliver(self, item: Claimed) -> Delivery:
        started = time.perf_counter()
        if item.channel is None:
            result = Delivery(
                ok=False,
                permanent=True,
                error="The channel is disabled; enable it, then retry this delivery",
            )
        else:
            try:
                result = await deliver_via(item.channel, event_from_json(item.payload), self.ctx)
            except asyncio.CancelledError:
                # Stopped past its grace: hand the row back so a peer sends it now,
                # not when the lease runs out.
                await asyncio.shield(self._release(item))
                raise
            except Exception as exc:  # a bug in a channel must not stop the dispatcher
                log.exception("channel %s raised", item.channel.id)
                result = Delivery(ok=False, error=f"Internal error: {type(exc).__name__}: {exc}")
        await self._record(item, result, duration_ms=(time.perf_counter() - started) * 1000)
        return result

    async def _record(self, item: Claimed, result: Delivery, *, duration_ms: float) -> None:
        now = self.clock.now()
        attempts = item.attempts + 1
        values: dict[str, object] = {"attempts": attempts, "lease_until": None, "attempt_id": None}
        outcome = "delivered" if result.ok else "failed"
        retry_at = None
        if result.ok:
            values.update(status="delivered", delivered_at=now, last_error=None)
        else:
            if not result.permanent:
                retry_at = self.policy.next_attempt_at(
                    attempts, now=now, window_from=item.window_from
                )
            if retry_at is None:
                if result.error:
                    result = replace(result, error=_RETRY_PROMISE.sub("", result.error))
                values.update(status="failed", failed_at=now, last_error=result.error)
            else:
                values.update(next_attempt_at=retry_at, last_error=result.error)
        ALERT_ATTEMPTS.labels(
            item.channel.type if item.channel else "disabled",
            outcome_of(ok=result.ok, permanent=result.permanent, final=retry_at is None),
        ).inc()
        async with self.store.transaction() as session:
            await session.execute(
                update(AlertAttempt)
                .where(AlertAttempt.id == item.attempt_id)
                .values(
                    ok=result.ok,
                    outcome=outcome,
                    status_code=result.status_code,
                    error=result.error,
                    duration_ms=duration_ms,
                    finished_at=now,
                )
            )
            done = await session.execute(
                update(AlertOutbox)
                .where(AlertOutbox.id == item.row_id, AlertOutbox.attempt_id == item.attempt_id)
                .values(**values)
            )
            if not getattr(done, "rowcount", 0):
                log.warning(
                    "alert %s: attempt %d outlived its lease and a peer took the row over; "
                    "its outcome (%s) is kept in the attempt only",
                    item.row_id,
                    item.attempt_id,
                    outcome,
                )
                return
            await self._note_channel(session, item, result, now=now, dead=retry_at is None)
        self._log_outcome(item, result, attempts=attempts, retry_at=retry_at, now=now)

    async def _release(self, item: Claimed) -> None:
        now = self.clock.now()
        try:
            async with self.store.transaction() as session:
                await session.execute(
                    update(AlertAttempt)
                    .where(AlertAttempt.id == item.attempt_id)
                    .values(outcome="interrupted", finished_at=now, error=INTERRUPTED)
                )
                await session.execute(
                    update(AlertOutbox)
                    .where(AlertOutbox.id == item.row_id, AlertOutbox.attempt_id == item.attempt_id)
                    .values(lease_until=None, attempt_id=None)
                )
        except Exception as exc:  # the lease lapses instead
            self._outage.failed(exc)
            return
        log.info("alert %s: handed back unfinished at shutdown; a peer delivers it", item.row_id)

    async def _note_channel(
        self, session: AsyncSession, item: Claimed, result: Delivery, *, now: datetime, dead: bool
    ) -> None:
        if item.channel is None:
            return
        if result.ok:
            await note_success(session, item.channel.id)
            return
        health = await note_failure(
            session, item.channel.id, org_id=item.org_id, error=result.error, now=now
        )
        await notify_failing(
            session,
            health,
            channel_name=item.channel_name,
            now=now,
            dead_letter=dead,
            after_s=self.notice_after_s,
        )

    def _log_outcome(
        self,
        item: Claimed,
        result: Delivery,
        *,
        attempts: int,
        retry_at: datetime | None,
        now: datetime,
    ) -> None:
        what = f"alert {item.row_id} ({item.event_type} to channel {item.channel_name})"
        if result.ok:
            if attempts > 1:
                log.info("%s delivered on attempt %d", what, attempts)
            return
        if retry_at is not None:
            log.info(
                "%s: attempt %d failed (%s); next attempt at %s",
                what,
                attempts,
                result.error,
                retry_at.isoformat(timespec="seconds"),
            )
            return
        reason = (
            "rejected, not retried"
            if result.permanent
            else f"given up after {attempts} attempts over "
            f"{format_duration((now - item.window_from).total_seconds())}"
        )
        log.warning(
            "%s NOT delivered: %s (%s); it stays in the delivery log as failed, "
            "resend it with POST /api/alert-deliveries/%s/retry",
            what,
            reason,
            result.error,
            item.row_id,
        )

    async def _renew(self, items: Sequence[Claimed]) -> None:
        """Extend the leases of rows in hand every third of a lease, while they last."""
        ids = [i.attempt_id for i in items]
        while True:
            await asyncio.sleep(self.lease_s / 3)
            until = self.clock.now() + timedelta(seconds=self.lease_s)
            try:
                async with self.store.transaction() as session:
                    await session.execute(
                        update(AlertOutbox)
                        .where(
                            and_(AlertOutbox.attempt_id.in_(ids), AlertOutbox.status == "pending")
                        )
                        .values(lease_until=until)
                    )
            except Exception as exc:
                self._outage.failed(exc)

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many rows were attempted."""
        claimed = await self.claim()
        if claimed:
            renewer = asyncio.create_task(self._renew(claimed))
            try:
                await asyncio.gather(*(self.deliver(c) for c in claimed))
            finally:
                renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewer
        return len(claimed)

    async def refresh_gauges(self) -> None:
        """Outbox depth by status and the oldest undelivered alert's age, for /metrics."""
        now = self.clock.now()
        async with self.store.transaction() as session:
            rows = await session.execute(
                select(AlertOutbox.status, func.count(), func.min(AlertOutbox.created_at)).group_by(
                    AlertOutbox.status
                )
            )
            by_status = {status: (n, oldest) for status, n, oldest in rows}
        for status in ("pending", "delivered", "failed"):
            ALERT_OUTBOX.labels(status).set(by_status.get(status, (0, None))[0])
        oldest = by_status.get("pending", (0, None))[1]
        ALERT_OLDEST_PENDING.set((now - utc(oldest)).total_seconds() if oldest else 0.0)

    async def _loop(self) -> None:
        gauges_at = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() - gauges_at >= GAUGES_EVERY_S:
                    gauges_at = time.monotonic()
                    await self.refresh_gauges()
                busy = await self.run_once()
                self._outage.ok()
                if busy:
                    continue
            except Exception as exc:
                self._outage.failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_s)

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="dispatcher")

    async def stop(self, *, grace_s: float = 5.0) -> None:
        """Stop claiming; finish the deliveries in hand within ``grace_s``, then hand
        back the rest (their attempts recorded as interrupted)."""
        self._stopping.set()
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=grace_s)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
