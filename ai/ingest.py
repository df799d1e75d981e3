"""The AI ingest writer: events from many requests written in one transaction per batch.

Each request submits its validated event and waits for the batch that carries it.
Whoever submits while no batch is being written starts a drain task; events that
arrive meanwhile form the next batch, so batches grow with the load and a lone
event waits for nothing. One batch is one transaction: the monitors are read
afresh (a paused monitor stops taking events at once), the ingest keys checked,
the events priced, the daily counters moved (exactly, across API processes: the
counter row is locked by its UPSERT), the events inserted and the hourly rollups
added to. An event is answered as accepted only after that commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import psycopg
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ai import ingest_pg
from ai.event import EventInput
from ai.limits import ai_limits_for
from ai.pricing import Override, Priced, price
from ai.rollups import Stored, add_to_rollups, aggregate
from store.ai_models import AiDailyCount, AiEvent, AiPriceOverride, AiSettings
from store.clock import Clock
from store.db import Store
from store.models import Monitor, Organization
from store.outage import is_store_unavailable

log = logging.getLogger(__name__)
MAX_BATCH = 500
INGEST_KEY_HEADER = "x-vigil-ingest-key"


@dataclass(frozen=True)
class Accepted:
    id: int
    cost_usd: float | None
    daily_used: int
    daily_limit: int


@dataclass(frozen=True)
class Rejected:
    status: int
    message: str
    code: str
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


Outcome = Accepted | Rejected
NOT_FOUND = Rejected(404, "Not found", "not_found")


@dataclass
class _Item:
    monitor_id: str
    event: EventInput
    key: str | None
    future: asyncio.Future[Outcome]


@dataclass(frozen=True)
class _MonitorFacts:
    org_id: str
    plan: str
    key_hash: str | None
    takes_events: bool


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def day_key(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def _seconds_to_midnight(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


class IngestWriter:
    """Batches AI events of one API process into the store."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        max_batch: int = MAX_BATCH,
        parallel: int | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_batch = max_batch
        # Two batches in flight on PostgreSQL overlap one's round trips with the
        # other's; SQLite takes one writer at a time anyway.
        self.parallel = parallel or (2 if store.is_postgres else 1)
        self._queue: list[_Item] = []
        self._drains: set[asyncio.Task[None]] = set()
        # monitor id -> plan, as last seen by a batch (for the per-minute limit).
        self.plans: dict[str, str] = {}
        # Ids no monitor has: answered 404 without a batch for a while.
        self.unknown: dict[str, float] = {}

    async def submit(self, monitor_id: str, event: EventInput, *, key: str | None) -> Outcome:
        """Queue one event; returns once its batch committed (or was refused)."""
        return (await self.submit_many(monitor_id, [event], key=key))[0]

    async def submit_many(
        self, monitor_id: str, events: Sequence[EventInput], *, key: str | None
    ) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        items = [_Item(monitor_id, e, key, loop.create_future()) for e in events]
        self._queue.extend(items)
        # A drain that found the queue empty is done at once, though its done
        # callbacks run later: count only the ones still running.
        self._drains = {t for t in self._drains if not t.done()}
        if len(self._drains) < self.parallel:
            self._drains.add(asyncio.create_task(self._run(), name="ai-ingest"))
        # A client that hangs up cancels only its own future: the batch is the
        # drain task's, and it skips futures that are already done.
        return [await i.future for i in items]

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                outcomes = await self._write(batch)
            except Exception as exc:
                # Callers first: nothing after this may leave a client waiting.
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                # A store outage reaches each caller, which answers 503 and logs it calmly.
                if not is_store_unavailable(exc):
                    log.exception("AI ingest batch of %d events failed", len(batch))
                continue
            for item, outcome in zip(batch, outcomes, strict=True):
                if not item.future.done():
                    item.future.set_result(outcome)

    async def _write(self, batch: Sequence[_Item]) -> list[Outcome]:
        if self.store.is_postgres:
            async with self.store.raw() as conn, conn.transaction():
                return await self._decide(_PgTx(conn), batch)
        async with self.store.transaction() as session:
            return await self._decide(_SqlTx(session), batch)

    async def _decide(self, tx: _Tx, batch: Sequence[_Item]) -> list[Outcome]:
        """The batch's outcomes, written through ``tx`` (one open transaction)."""
        now = self.clock.now()
        outcomes: list[Outcome | None] = [None] * len(batch)
        ids = sorted({i.monitor_id for i in batch})
        facts = await tx.monitor_facts(ids)
        mono = now.timestamp()
        for mid in ids:
            if mid in facts:
                self.plans[mid] = facts[mid].plan
                self.unknown.pop(mid, None)
            else:
                if len(self.unknown) > 100_000:
                    self.unknown.clear()
                self.unknown[mid] = mono
        for n, item in enumerate(batch):
            known = facts.get(item.monitor_id)
            if known is None or not known.takes_events:
                # Paused, another type or no such monitor: the same bare 404.
                outcomes[n] = NOT_FOUND
            elif known.key_hash is not None and (
                item.key is None or not hmac.compare_digest(hash_key(item.key), known.key_hash)
            ):
                outcomes[n] = _key_refused(item.key)
        overrides = await tx.overrides(sorted({f.org_id for f in facts.values()}))
        wanted: dict[str, list[int]] = defaultdict(list)
        for n, item in enumerate(batch):
            if outcomes[n] is None:
                wanted[item.monitor_id].append(n)
        counts = await _count_daily(tx, wanted, facts, day=day_key(now))
        accepted: list[tuple[int, Priced]] = []
        for mid, positions in wanted.items():
            used_before, allowed, limit = counts[mid]
            for k, n in enumerate(positions):
                if k >= allowed:
                    outcomes[n] = Rejected(
                        429,
                        f"Daily event limit reached: {limit:,} events a day on the "
                        f"{facts[mid].plan} plan; events are accepted again after "
                        "00:00 UTC",
                        "rate_limited",
                        extra={"dailyEventsUsed": limit, "dailyEventsLimit": limit},
                        headers={"Retry-After": str(_seconds_to_midnight(now))},
                    )
                else:
                    priced = price(batch[n].event, overrides.get(facts[mid].org_id, {}))
                    accepted.append((n, priced))
        if accepted:
            rows = [event_row(batch[n].monitor_id, batch[n].event, p, now=now) for n, p in accepted]
            row_ids = await tx.insert_events(rows)
            await tx.add_to_rollups(
                aggregate(
                    Stored(batch[n].monitor_id, batch[n].event, p.cost_usd) for n, p in accepted
                )
            )
            seen: dict[str, int] = defaultdict(int)
            for (n, priced), row_id in zip(accepted, row_ids, strict=True):
                mid = batch[n].monitor_id
                used_before, _allowed, limit = counts[mid]
                seen[mid] += 1
                outcomes[n] = Accepted(row_id, priced.cost_usd, used_before + seen[mid], limit)
        return [o if o is not None else NOT_FOUND for o in outcomes]


def _key_refused(key: str | None) -> Rejected:
    if key is None:
        return Rejected(
            401,
            "This monitor requires an ingest key: send it in the X-Vigil-Ingest-Key header",
            "unauthenticated",
        )
    return Rejected(401, "Invalid ingest key for this monitor", "unauthenticated")


class _Tx(Protocol):
    """The statements of one batch, inside its transaction."""

    async def monitor_facts(self, ids: Sequence[str]) -> dict[str, _MonitorFacts]: ...

    async def overrides(self, org_ids: Sequence[str]) -> dict[str, dict[str, Override]]: ...

    async def count_daily(self, day: str, counts: Sequence[tuple[str, int]]) -> dict[str, int]: ...

    async def give_back(self, monitor_id: str, day: str, n: int) -> None: ...

    async def insert_events(self, rows: Sequence[dict[str, Any]]) -> list[int]: ...

    async def add_to_rollups(self, rows: Sequence[dict[str, Any]]) -> None: ...


class _PgTx:
    """PostgreSQL: fixed SQL on a plain psycopg connection (see ``ai.ingest_pg``)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def monitor_facts(self, ids: Sequence[str]) -> dict[str, _MonitorFacts]:
        found = await ingest_pg.monitor_facts(self.conn, ids)
        return {mid: _MonitorFacts(*f) for mid, f in found.items()}

    async def overrides(self, org_ids: Sequence[str]) -> dict[str, dict[str, Override]]:
        return await ingest_pg.overrides(self.conn, org_ids)

    async def count_daily(self, day: str, counts: Sequence[tuple[str, int]]) -> dict[str, int]:
        return await ingest_pg.count_daily(self.conn, day, counts)

    async def give_back(self, monitor_id: str, day: str, n: int) -> None:
        await ingest_pg.give_back(self.conn, monitor_id, day, n)

    async def insert_events(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        return await ingest_pg.insert_events(self.conn, rows)

    async def add_to_rollups(self, rows: Sequence[dict[str, Any]]) -> None:
        await ingest_pg.add_to_rollups(self.conn, rows)


# SQLite: SQLAlchemy statements, built once (building them per batch cost more
# than running them); rows go as parameters, so each compiles once.
_FACTS = (
    select(
        Monitor.id,
        Monitor.org_id,
        Organization.plan,
        AiSettings.ingest_key_hash,
        Monitor.type,
        Monitor.is_active,
    )
    .join(Organization, Organization.id == Monitor.org_id)
    .outerjoin(AiSettings, AiSettings.monitor_id == Monitor.id)
    .where(Monitor.id.in_(bindparam("ids", expanding=True)))
)
_OVERRIDES = select(AiPriceOverride).where(
    AiPriceOverride.org_id.in_(bindparam("org_ids", expanding=True))
)
_DAILY = cast(Table, AiDailyCount.__table__)
_daily_insert = sqlite.insert(_DAILY)
# Its rows are locked in monitor order, the same order in every process, until the commit.
_COUNT_DAILY = _daily_insert.on_conflict_do_update(
    index_elements=["monitor_id", "day"],
    set_={"events": _DAILY.c.events + _daily_insert.excluded.events},
).returning(_DAILY.c.monitor_id, _DAILY.c.events, sort_by_parameter_order=True)
_GIVE_BACK = (
    update(_DAILY)
    .where(_DAILY.c.monitor_id == bindparam("mid"), _DAILY.c.day == bindparam("d"))
    .values(events=_DAILY.c.events - bindparam("n"))
)
_INSERT_EVENTS = insert(AiEvent).returning(AiEvent.id, sort_by_parameter_order=True)


class _SqlTx:
    """SQLite (and any other store): SQLAlchemy statements on the session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def monitor_facts(self, ids: Sequence[str]) -> dict[str, _MonitorFacts]:
        rows = await self.session.execute(_FACTS, {"ids": list(ids)})
        return {
            mid: _MonitorFacts(org, plan, key, mtype == "LLM" and bool(active))
            for mid, org, plan, key, mtype, active in rows
        }

    async def overrides(self, org_ids: Sequence[str]) -> dict[str, dict[str, Override]]:
        out: dict[str, dict[str, Override]] = defaultdict(dict)
        if not org_ids:
            return out
        for row in await self.session.scalars(_OVERRIDES, {"org_ids": list(org_ids)}):
            out[row.org_id][row.model] = Override(
                row.input_per_mtok,
                row.output_per_mtok,
                row.cache_read_per_mtok,
                row.cache_write_per_mtok,
            )
        return out

    async def count_daily(self, day: str, counts: Sequence[tuple[str, int]]) -> dict[str, int]:
        rows = [{"monitor_id": m, "day": day, "events": n} for m, n in counts]
        return {mid: int(total) for mid, total in await self.session.execute(_COUNT_DAILY, rows)}

    async def give_back(self, monitor_id: str, day: str, n: int) -> None:
        await self.session.execute(_GIVE_BACK, {"mid": monitor_id, "d": day, "n": n})

    async def insert_events(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        result = await self.session.execute(_INSERT_EVENTS, list(rows))
        return [int(r) for r in result.scalars()]

    async def add_to_rollups(self, rows: Sequence[dict[str, Any]]) -> None:
        await add_to_rollups(self.session, rows)


async def _count_daily(
    tx: _Tx,
    wanted: dict[str, list[int]],
    facts: dict[str, _MonitorFacts],
    *,
    day: str,
) -> dict[str, tuple[int, int, int]]:
    """Count the events against each monitor's daily limit: (used before, allowed, limit)."""
    if not wanted:
        return {}
    # One statement for the batch, in monitor order (see the statements).
    totals = await tx.count_daily(day, [(m, len(wanted[m])) for m in sorted(wanted)])
    out: dict[str, tuple[int, int, int]] = {}
    for mid in sorted(wanted):
        n = len(wanted[mid])
        limit = ai_limits_for(facts[mid].plan).daily_events
        before = totals[mid] - n
        allowed = max(0, min(n, limit - before))
        if allowed < n:
            await tx.give_back(mid, day, n - allowed)
        out[mid] = (before, allowed, limit)
    return out


def event_row(monitor_id: str, e: EventInput, priced: Priced, *, now: datetime) -> dict[str, Any]:
    """The ``ai_events`` column values of one event."""
    return {
        "monitor_id": monitor_id,
        "created_at": e.created_at,
        "received_at": now,
        "provider": e.provider,
        "model": e.model,
        "input_tokens": e.input_tokens,
        "output_tokens": e.output_tokens,
        "total_tokens": e.total_tokens,
        "cache_read_tokens": e.cache_read_tokens,
        "cache_write_tokens": e.cache_write_tokens,
        "reasoning_tokens": e.reasoning_tokens,
        "latency_ms": e.latency_ms,
        "ttft_ms": e.ttft_ms,
        "status_code": e.status_code,
        "error": e.error,
        "prompt_hash": e.prompt_hash,
        "user_id": e.user_id,
        "session_id": e.session_id,
        "meta": e.metadata,
        "rag_docs": e.rag_docs,
        "rag_relevance": e.rag_relevance,
        "rag_retrieval_ms": e.rag_retrieval_ms,
        "rag_context_tokens": e.rag_context_tokens,
        "cost_usd": priced.cost_usd,
        "cost_source": priced.source,
        "price_version": priced.version,
        "source": e.source,
    }
