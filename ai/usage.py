"""``ai-usage``: a monitor's AI totals over 24 h, 7 d or 30 d, read from the hourly rollups.

``p95Latency`` comes from the rollups' latency histogram: it is the upper bound
of the bucket that holds the 95th-percentile event (nearest rank), never more
than the slowest event of the period. Costs sum priced events only;
``unpricedEvents`` says how many the total leaves out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ai.rollups import hour_of
from store.ai_models import LATENCY_BOUNDS_MS, LATENCY_BUCKETS, AiRollup

PERIODS = {"24h": 24, "7d": 24 * 7, "30d": 24 * 30}
TOP_MODELS = 10


def period_start(now: datetime, hours: int) -> datetime:
    """The first hour of a period of ``hours`` hours ending with the current hour."""
    return hour_of(now) - timedelta(hours=hours - 1)


async def rollups_since(
    session: AsyncSession, monitor_id: str, since: datetime
) -> Sequence[AiRollup]:
    rows = await session.scalars(
        select(AiRollup).where(AiRollup.monitor_id == monitor_id, AiRollup.hour >= since)
    )
    return list(rows)


def percentile_from_histogram(counts: Sequence[int], q: float, max_value: int) -> int | None:
    """Nearest-rank percentile, as the upper bound of its bucket (capped at the maximum)."""
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for i, n in enumerate(counts):
        seen += n
        if seen >= rank:
            bound = LATENCY_BOUNDS_MS[i] if i < len(LATENCY_BOUNDS_MS) else max_value
            return min(bound, max_value)
    return max_value


def _ratio(num: float, den: float, digits: int) -> float | None:
    return round(num / den, digits) if den else None


def iso_hour(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:00:00Z")


def summarize(rows: Sequence[AiRollup], *, since: datetime, hours: int) -> dict[str, Any]:
    """The reference's ai-usage body from rollup rows (pure)."""
    events = sum(r.events for r in rows)
    hist = [sum(getattr(r, f"lat_{i}") for r in rows) for i in range(LATENCY_BUCKETS)]
    latency_max = max((r.latency_max_ms for r in rows), default=0)
    per_model: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "cost": 0.0, "latency": 0, "unpriced": 0, "provider": ""}
    )
    per_hour: dict[datetime, dict[str, Any]] = defaultdict(
        lambda: {"events": 0, "tokens": 0, "cost": 0.0, "errors": 0, "unpriced": 0}
    )
    for r in rows:
        m = per_model[r.model]
        m["count"] += r.events
        m["cost"] += r.cost_usd
        m["latency"] += r.latency_sum_ms
        m["unpriced"] += r.unpriced
        m["provider"] = r.provider
        h = per_hour[r.hour]
        h["events"] += r.events
        h["tokens"] += r.total_tokens
        h["cost"] += r.cost_usd
        h["errors"] += r.errors
        h["unpriced"] += r.unpriced
    top = sorted(per_model.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:TOP_MODELS]
    rag_events = sum(r.rag_events for r in rows)
    return {
        "totalEvents": events,
        "totalTokens": sum(r.total_tokens for r in rows),
        "totalCost": round(sum(r.cost_usd for r in rows), 6),
        "unpricedEvents": sum(r.unpriced for r in rows),
        "avgLatency": round(sum(r.latency_sum_ms for r in rows) / events) if events else None,
        "p95Latency": percentile_from_histogram(hist, 0.95, latency_max),
        "errorRate": round(100 * sum(r.errors for r in rows) / events, 2) if events else 0.0,
        "tokens": {
            "input": sum(r.input_tokens for r in rows),
            "output": sum(r.output_tokens for r in rows),
            "cacheRead": sum(r.cache_read_tokens for r in rows),
            "cacheWrite": sum(r.cache_write_tokens for r in rows),
            "reasoning": sum(r.reasoning_tokens for r in rows),
        },
        "topModels": [
            {
                "model": name,
                "provider": m["provider"],
                "count": m["count"],
                "totalCost": round(m["cost"], 6),
                "avgLatency": round(m["latency"] / m["count"]) if m["count"] else None,
                "unpricedEvents": m["unpriced"],
            }
            for name, m in top
        ],
        "hourlyUsage": [
            {
                "hour": iso_hour(at),
                "events": per_hour[at]["events"] if at in per_hour else 0,
                "tokens": per_hour[at]["tokens"] if at in per_hour else 0,
                "cost": round(per_hour[at]["cost"], 6) if at in per_hour else 0.0,
            }
            for at in (since + timedelta(hours=k) for k in range(hours))
        ],
        "ragStats": {
            "totalRagEvents": rag_events,
            "avgRelevance": _ratio(
                sum(r.rag_relevance_sum for r in rows),
                sum(r.rag_relevance_count for r in rows),
                4,
            ),
            "avgDocsRetrieved": _ratio(sum(r.rag_docs_sum for r in rows), rag_events, 2),
            "avgRetrievalMs": _ratio(
                sum(r.rag_retrieval_ms_sum for r in rows),
                sum(r.rag_retrieval_count for r in rows),
                1,
            ),
        },
    }


async def usage(session: AsyncSession, monitor_id: str, *, period: str, now: datetime) -> Any:
    hours = PERIODS[period]
    since = period_start(now, hours)
    rows = await rollups_since(session, monitor_id, since)
    return summarize(rows, since=since, hours=hours)
