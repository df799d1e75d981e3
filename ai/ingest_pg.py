"""The ingest writer's statements on PostgreSQL, on a plain psycopg connection.

Every statement has one fixed text whatever the batch (rows travel as arrays
through ``unnest``), so psycopg prepares it once per connection and a batch costs
its parameters, not the building, compiling and caching of SQLAlchemy
expressions, which took most of the API's CPU at a few thousand events a second.
The SQLite path keeps the SQLAlchemy statements of ``ai.ingest`` and ``ai.rollups``;
both paths write the same rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import psycopg

from ai.pricing import Override
from ai.rollups import SUM_COLUMNS

FACTS = """
SELECT m.id, m.org_id, o.plan, s.ingest_key_hash, m.type = 'LLM' AND m.is_active
FROM monitors m
JOIN organizations o ON o.id = m.org_id
LEFT JOIN ai_settings s ON s.monitor_id = m.id
WHERE m.id = ANY(%s::text[])
"""
OVERRIDES = """
SELECT org_id, model, input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok
FROM ai_price_overrides WHERE org_id = ANY(%s::text[])
"""
# Rows in monitor order (the caller sorts), locked in that order until the commit:
# the same order in every process, so two batches cannot deadlock.
COUNT_DAILY = """
INSERT INTO ai_daily_counts AS d (monitor_id, day, events)
SELECT * FROM unnest(%s::text[], %s::text[], %s::int8[])
ON CONFLICT (monitor_id, day) DO UPDATE SET events = d.events + excluded.events
RETURNING d.monitor_id, d.events
"""
GIVE_BACK = "UPDATE ai_daily_counts SET events = events - %s WHERE monitor_id = %s AND day = %s"
NEXT_IDS = "SELECT nextval('ai_events_id_seq') FROM generate_series(1, %s)"

EVENT_COLUMNS = (
    "monitor_id",
    "created_at",
    "received_at",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "latency_ms",
    "ttft_ms",
    "status_code",
    "error",
    "prompt_hash",
    "user_id",
    "session_id",
    "meta",
    "rag_docs",
    "rag_relevance",
    "rag_retrieval_ms",
    "rag_context_tokens",
    "cost_usd",
    "cost_source",
    "price_version",
    "source",
)
_META_AT = EVENT_COLUMNS.index("meta")
# COPY, not a multi-row INSERT: its cost per row is the smallest psycopg has.
COPY_EVENTS = f"COPY ai_events (id, {', '.join(EVENT_COLUMNS)}) FROM STDIN"

ROLLUP_COLUMNS = ("monitor_id", "hour", "model", "provider", *SUM_COLUMNS, "latency_max_ms")
# The rows as one JSON document: psycopg adapts one string far faster than 45 arrays.
ADD_TO_ROLLUPS = f"""
INSERT INTO ai_rollups AS r ({", ".join(ROLLUP_COLUMNS)})
SELECT {", ".join(ROLLUP_COLUMNS)} FROM json_populate_recordset(NULL::ai_rollups, %s::json)
ON CONFLICT (monitor_id, hour, model) DO UPDATE SET
{", ".join(f"{c} = r.{c} + excluded.{c}" for c in SUM_COLUMNS)},
latency_max_ms = greatest(r.latency_max_ms, excluded.latency_max_ms)
"""

Facts = tuple[str, str, str | None, bool]  # org id, plan, key hash, takes events


async def monitor_facts(conn: psycopg.AsyncConnection[Any], ids: Sequence[str]) -> dict[str, Facts]:
    """Every monitor with one of these ids: (org, plan, key hash, takes events)."""
    cur = await conn.execute(FACTS, (list(ids),))
    return {
        mid: (org, plan, key, bool(takes)) for mid, org, plan, key, takes in await cur.fetchall()
    }


async def overrides(
    conn: psycopg.AsyncConnection[Any], org_ids: Sequence[str]
) -> dict[str, dict[str, Override]]:
    out: dict[str, dict[str, Override]] = defaultdict(dict)
    if not org_ids:
        return out
    cur = await conn.execute(OVERRIDES, (list(org_ids),))
    for org, model, inp, outp, cache_read, cache_write in await cur.fetchall():
        out[org][model] = Override(inp, outp, cache_read, cache_write)
    return out


async def count_daily(
    conn: psycopg.AsyncConnection[Any], day: str, counts: Sequence[tuple[str, int]]
) -> dict[str, int]:
    """Add ``counts`` (sorted by monitor) to the day's counters; the new totals."""
    cur = await conn.execute(
        COUNT_DAILY, ([m for m, _ in counts], [day] * len(counts), [n for _, n in counts])
    )
    return {mid: int(total) for mid, total in await cur.fetchall()}


async def give_back(conn: psycopg.AsyncConnection[Any], monitor_id: str, day: str, n: int) -> None:
    await conn.execute(GIVE_BACK, (n, monitor_id, day))


async def insert_events(
    conn: psycopg.AsyncConnection[Any], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """COPY the rows in, ids drawn from the sequence first; the ids in row order."""
    async with conn.cursor() as cur:
        await cur.execute(NEXT_IDS, (len(rows),))
        ids = [int(r[0]) for r in await cur.fetchall()]
        async with cur.copy(COPY_EVENTS) as copy:
            for row_id, row in zip(ids, rows, strict=True):
                values = [row[c] for c in EVENT_COLUMNS]
                meta = values[_META_AT]
                values[_META_AT] = json.dumps(meta) if meta is not None else None
                await copy.write_row((row_id, *values))
    return ids


async def add_to_rollups(
    conn: psycopg.AsyncConnection[Any], rows: Sequence[dict[str, Any]]
) -> None:
    """Add a batch's sums (``ai.rollups.aggregate``) to the stored rollups, in key order."""
    if not rows:
        return
    ordered = sorted(rows, key=lambda r: (r["monitor_id"], r["hour"], r["model"]))
    doc = json.dumps([{**r, "hour": r["hour"].isoformat()} for r in ordered])
    await conn.execute(ADD_TO_ROLLUPS, (doc,))
