"""A monitor's AI events, newest first, by page or by cursor; and their JSON shape."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.ai_models import AiEvent


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def event_json(e: AiEvent) -> dict[str, Any]:
    """The reference's event fields (``inputTokens``/``outputTokens``), then Vigil's."""
    is_error = e.error is not None or (e.status_code is not None and e.status_code >= 400)
    return {
        "id": f"evt_{e.id}",
        "monitorId": e.monitor_id,
        "provider": e.provider,
        "model": e.model,
        "inputTokens": e.input_tokens,
        "outputTokens": e.output_tokens,
        "totalTokens": e.total_tokens,
        "costUsd": e.cost_usd,
        "latencyMs": e.latency_ms,
        "status": "error" if is_error else "success",
        "errorMessage": e.error,
        "createdAt": _iso(e.created_at),
        "statusCode": e.status_code,
        "cacheReadTokens": e.cache_read_tokens,
        "cacheWriteTokens": e.cache_write_tokens,
        "reasoningTokens": e.reasoning_tokens,
        "ttftMs": e.ttft_ms,
        "promptHash": e.prompt_hash,
        "userId": e.user_id,
        "sessionId": e.session_id,
        "metadata": e.meta,
        "ragDocsRetrieved": e.rag_docs,
        "ragAvgRelevance": e.rag_relevance,
        "ragRetrievalMs": e.rag_retrieval_ms,
        "ragContextTokens": e.rag_context_tokens,
        "costSource": e.cost_source,
        "priceVersion": e.price_version,
        "source": e.source,
    }


async def list_events(
    session: AsyncSession,
    monitor_id: str,
    *,
    limit: int,
    offset: int = 0,
    after: tuple[datetime, int] | None = None,
) -> Sequence[AiEvent]:
    """Newest first; ``after`` (created_at, id) continues below a cursor without OFFSET."""
    query = select(AiEvent).where(AiEvent.monitor_id == monitor_id)
    if after is not None:
        at, row_id = after
        query = query.where(
            or_(AiEvent.created_at < at, and_(AiEvent.created_at == at, AiEvent.id < row_id))
        )
    query = query.order_by(AiEvent.created_at.desc(), AiEvent.id.desc()).limit(limit)
    if after is None and offset:
        query = query.offset(offset)
    return list(await session.scalars(query))


async def count_events(session: AsyncSession, monitor_id: str) -> int:
    total = await session.scalar(
        select(func.count()).select_from(AiEvent).where(AiEvent.monitor_id == monitor_id)
    )
    return int(total or 0)
