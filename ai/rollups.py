"""Hourly AI rollups, per (monitor, hour, model), kept in step in the ingest write.

A batch of events becomes one row of sums per (monitor, hour, model), added to
the stored row with one UPSERT, so rollups never drift from the events: both
change in the same transaction. Latency is kept as a histogram (bounds in
``store.ai_models.LATENCY_BOUNDS_MS``) so percentiles over any period are sums
of rows, not scans of events.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ai.event import EventInput
from store.ai_models import LATENCY_BOUNDS_MS, LATENCY_BUCKETS, AiRollup

# An event this short (total tokens) could go to a smaller model: model_downgrade.
SHORT_TOKENS = 500
SUM_COLUMNS = (
    "events",
    "errors",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "priced",
    "unpriced",
    "latency_sum_ms",
    "rag_events",
    "rag_docs_sum",
    "rag_relevance_sum",
    "rag_relevance_count",
    "rag_retrieval_ms_sum",
    "rag_retrieval_count",
    "rag_context_tokens_sum",
    "short_events",
    *(f"lat_{i}" for i in range(LATENCY_BUCKETS)),
)


def bucket(latency_ms: float) -> int:
    """The histogram bucket of a latency: the first bound it does not exceed."""
    return bisect.bisect_left(LATENCY_BOUNDS_MS, latency_ms)


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Stored:
    """An event with what the writer decided about it (its cost)."""

    monitor_id: str
    event: EventInput
    cost_usd: float | None


def aggregate(items: Iterable[Stored]) -> list[dict[str, Any]]:
    """One row of sums per (monitor, hour, model) for a batch of events (pure)."""
    rows: dict[tuple[str, datetime, str], dict[str, Any]] = {}
    for item in items:
        e = item.event
        key = (item.monitor_id, hour_of(e.created_at), e.model)
        row = rows.get(key)
        if row is None:
            row = {c: 0 for c in SUM_COLUMNS}
            row.update(
                monitor_id=key[0],
                hour=key[1],
                model=key[2],
                provider=e.provider,
                cost_usd=0.0,
                rag_relevance_sum=0.0,
                rag_retrieval_ms_sum=0.0,
                latency_max_ms=0,
            )
            rows[key] = row
        row["events"] += 1
        row["errors"] += int(e.is_error)
        row["input_tokens"] += e.input_tokens
        row["output_tokens"] += e.output_tokens
        row["total_tokens"] += e.total_tokens
        row["cache_read_tokens"] += e.cache_read_tokens or 0
        row["cache_write_tokens"] += e.cache_write_tokens or 0
        row["reasoning_tokens"] += e.reasoning_tokens or 0
        if item.cost_usd is None:
            row["unpriced"] += 1
        else:
            row["priced"] += 1
            row["cost_usd"] += item.cost_usd
        row["latency_sum_ms"] += e.latency_ms
        row["latency_max_ms"] = max(row["latency_max_ms"], e.latency_ms)
        row[f"lat_{bucket(e.latency_ms)}"] += 1
        row["short_events"] += int(e.total_tokens < SHORT_TOKENS)
        if is_rag(e):
            row["rag_events"] += 1
            row["rag_docs_sum"] += e.rag_docs or 0
            row["rag_context_tokens_sum"] += e.rag_context_tokens or 0
            if e.rag_relevance is not None:
                row["rag_relevance_sum"] += e.rag_relevance
                row["rag_relevance_count"] += 1
            if e.rag_retrieval_ms is not None:
                row["rag_retrieval_ms_sum"] += e.rag_retrieval_ms
                row["rag_retrieval_count"] += 1
    return list(rows.values())


def is_rag(e: EventInput) -> bool:
    """An event that reported any retrieval statistic."""
    return any(
        v is not None
        for v in (e.rag_docs, e.rag_relevance, e.rag_retrieval_ms, e.rag_context_tokens)
    )


def _upsert(dialect: str) -> Any:
    """The rollup UPSERT of a dialect, built once: building it per batch cost more than
    running it. Rows go as its parameters (SQLAlchemy batches them into multi-row
    VALUES), so its compiled form is cached too."""
    stmt = _UPSERTS.get(dialect)
    if stmt is not None:
        return stmt
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The Core table, not the ORM entity: the ORM's bulk machinery cost more than the SQL.
    stmt = insert(cast(Table, AiRollup.__table__))
    table = AiRollup.__table__.c
    updates: dict[str, Any] = {c: table[c] + stmt.excluded[c] for c in SUM_COLUMNS}
    biggest = func.greatest if dialect == "postgresql" else func.max
    updates["latency_max_ms"] = biggest(table.latency_max_ms, stmt.excluded.latency_max_ms)
    stmt = stmt.on_conflict_do_update(index_elements=["monitor_id", "hour", "model"], set_=updates)
    _UPSERTS[dialect] = stmt
    return stmt


_UPSERTS: dict[str, Any] = {}


async def add_to_rollups(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add a batch's sums to the stored rollups (one UPSERT per row, sorted against deadlocks).

    The ingest writer on PostgreSQL uses ``ai.ingest_pg.add_to_rollups`` instead.
    """
    if not rows:
        return
    ordered = sorted(rows, key=lambda r: (r["monitor_id"], r["hour"], r["model"]))
    await session.execute(_upsert(session.get_bind().dialect.name), ordered)
