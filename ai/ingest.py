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
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

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
        now = self.clock.now()
        outcomes: list[Outcome | None] = [None] * len(batch)
        async with self.store.transaction() as session:
            facts = await _monitor_facts(session, {i.monitor_id for i in batch})
            mono = now.timestamp()
            for mid in {i.monitor_id for i in batch}:
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
            overrides = await _overrides(session, {f.org_id for f in facts.values()})
            wanted: dict[str, list[int]] = defaultdict(list)
            for n, item in enumerate(batch):
                if outcomes[n] is None:
                    wanted[item.monitor_id].append(n)
            counts = await _count_daily(session, wanted, facts, day=day_key(now))
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
                ids = await _insert_events(session, batch, accepted, now=now)
                await add_to_rollups(
                    session,
                    aggregate(
                        Stored(batch[n].monitor_id, batch[n].event, p.cost_usd) for n, p in accepted
                    ),
                )
                seen: dict[str, int] = defaultdict(int)
                for (n, priced), row_id in zip(accepted, ids, strict=True):
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


async def _monitor_facts(session: AsyncSession, ids: set[str]) -> dict[str, _MonitorFacts]:
    """Every monitor with one of these ids; ``takes_events`` for an active LLM monitor."""
    rows = await session.execute(
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
        .where(Monitor.id.in_(ids))
    )
    return {
        mid: _MonitorFacts(org, plan, key, mtype == "LLM" and bool(active))
        for mid, org, plan, key, mtype, active in rows
    }


async def _overrides(session: AsyncSession, org_ids: set[str]) -> dict[str, dict[str, Override]]:
    out: dict[str, dict[str, Override]] = defaultdict(dict)
    if not org_ids:
        return out
    for row in await session.scalars(
        select(AiPriceOverride).where(AiPriceOverride.org_id.in_(org_ids))
    ):
        out[row.org_id][row.model] = Override(
            row.input_per_mtok,
            row.output_per_mtok,
            row.cache_read_per_mtok,
            row.cache_write_per_mtok,
        )
    return out


async def _count_daily(
    session: AsyncSession,
    wanted: dict[str, list[int]],
    facts: dict[str, _MonitorFacts],
    *,
    day: str,
) -> dict[str, tuple[int, int, int]]:
    """Count the events against each monitor's daily limit: (used before, allowed, limit)."""
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    day_rows = [{"monitor_id": m, "day": day, "events": len(wanted[m])} for m in sorted(wanted)]
    if not day_rows:
        return {}
    # One statement for the batch; its rows are locked in monitor order, the same
    # order in every process, until the commit.
    table = cast(Table, AiDailyCount.__table__)
    stmt = insert_(table)
    upsert = stmt.on_conflict_do_update(
        index_elements=["monitor_id", "day"],
        set_={"events": table.c.events + stmt.excluded.events},
    ).returning(table.c.monitor_id, table.c.events, sort_by_parameter_order=True)
    # Rows as parameters: the statement compiles once, not once per batch.
    totals = {mid: int(total) for mid, total in await session.execute(upsert, day_rows)}
    out: dict[str, tuple[int, int, int]] = {}
    for mid in sorted(wanted):
        n = len(wanted[mid])
        limit = ai_limits_for(facts[mid].plan).daily_events
        before = totals[mid] - n
        allowed = max(0, min(n, limit - before))
        if allowed < n:
            await session.execute(
                update(AiDailyCount)
                .where(AiDailyCount.monitor_id == mid, AiDailyCount.day == day)
                .values(events=AiDailyCount.events - (n - allowed))
            )
        out[mid] = (before, allowed, limit)
    return out


async def _insert_events(
    session: AsyncSession,
    batch: Sequence[_Item],
    accepted: Sequence[tuple[int, Priced]],
    *,
    now: datetime,
) -> list[int]:
    rows = [event_row(batch[n].monitor_id, batch[n].event, p, now=now) for n, p in accepted]
    if session.get_bind().dialect.name == "postgresql":
        return await _insert_events_pg(session, rows)
    result = await session.execute(
        insert(AiEvent).returning(AiEvent.id, sort_by_parameter_order=True), rows
    )
    return [int(r) for r in result.scalars()]


# PostgreSQL: the batch through COPY, ids drawn from the sequence first. A
# multi-row VALUES statement is new text for every batch size, and psycopg's
# parsing of that text cost more than the insert itself.
_PG_COLUMNS = {
    "monitor_id": "text",
    "created_at": "timestamptz",
    "received_at": "timestamptz",
    "provider": "text",
    "model": "text",
    "input_tokens": "int8",
    "output_tokens": "int8",
    "total_tokens": "int8",
    "cache_read_tokens": "int8",
    "cache_write_tokens": "int8",
    "reasoning_tokens": "int8",
    "latency_ms": "int4",
    "ttft_ms": "int4",
    "status_code": "int4",
    "error": "text",
    "prompt_hash": "text",
    "user_id": "text",
    "session_id": "text",
    "meta": "text",
    "rag_docs": "int4",
    "rag_relevance": "float8",
    "rag_retrieval_ms": "float8",
    "rag_context_tokens": "int8",
    "cost_usd": "float8",
    "cost_source": "text",
    "price_version": "text",
    "source": "text",
}
_META_AT = list(_PG_COLUMNS).index("meta")
_PG_COPY = f"COPY ai_events (id, {', '.join(_PG_COLUMNS)}) FROM STDIN"


async def _insert_events_pg(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[int]:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    pg: Any = raw.driver_connection
    async with pg.cursor() as cur:
        await cur.execute(
            "SELECT nextval('ai_events_id_seq') FROM generate_series(1, %s)", (len(rows),)
        )
        ids = [int(r[0]) for r in await cur.fetchall()]
        async with cur.copy(_PG_COPY) as copy:
            for row_id, row in zip(ids, rows, strict=True):
                meta = row["meta"]
                values = [row[c] for c in _PG_COLUMNS]
                values[_META_AT] = json.dumps(meta) if meta is not None else None
                await copy.write_row((row_id, *values))
    return ids


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
