"""AI monitoring endpoints of an LLM monitor: usage, events, ingest key, price overrides."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ai.history import count_events, event_json, list_events
from ai.ingest import hash_key
from ai.insights import dismiss, list_insights
from ai.usage import PERIODS, usage
from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep
from api.errors import ApiError, invalid, not_found
from api.openapi import body
from api.pagination import PageQuery, TextQuery, decode_cursor, encode_cursor, parse_int
from api.schemas.ai import (
    MAX_PRICE_PER_MTOK,
    PRICE_FIELDS,
    AiEventPage,
    AiUsage,
    Deleted,
    IngestKeyCreated,
    IngestKeyState,
    Insight,
    Price,
    PriceSet,
)
from api.schemas.common import API_ERRORS, Data, int_query, one_of
from store.ai_models import AiInsight, AiPriceOverride, AiSettings
from store.models import Monitor
from store.monitors import get_monitor

router = APIRouter(tags=["ai"], responses=API_ERRORS)
SHAPE: Any = {"response_model_exclude_unset": True}


async def llm_monitor(session: AsyncSession, auth: AuthDep, monitor_id: str) -> Monitor:
    """The caller's LLM monitor, 404 if it is not theirs, 400 if it is another type."""
    monitor = await get_monitor(session, auth.org_id, monitor_id)
    if monitor is None:
        raise not_found("monitor")
    if monitor.type != "LLM":
        raise ApiError(
            400,
            f"This is a {monitor.type} monitor: AI usage, events, insights and cost alerts "
            "belong to LLM monitors",
        )
    return monitor


@router.get("/api/monitors/{monitor_id}/ai-usage", response_model=Data[AiUsage])
async def ai_usage(
    monitor_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    period: Annotated[
        str | None,
        one_of(("", *PERIODS)),
        Query(description='"24h" (default), "7d" or "30d"'),
    ] = None,
) -> dict[str, Any]:
    """Totals, latency, error rate, top models, hourly usage and RAG stats of a period."""
    chosen = period or "24h"
    if chosen not in PERIODS:
        raise invalid([("period", 'must be "24h", "7d" or "30d"')])
    monitor = await llm_monitor(session, auth, monitor_id)
    data = await usage(session, monitor.id, period=chosen, now=clock.now())
    return {"data": {"period": chosen, **data}}


@router.get("/api/monitors/{monitor_id}/ai-events", response_model=AiEventPage, **SHAPE)
async def ai_events(
    monitor_id: str,
    auth: AuthDep,
    session: SessionDep,
    page: PageQuery = None,
    limit: Annotated[
        str | None,
        int_query(1, 100),
        Query(description="Items per page, 1-100 (default 20)"),
    ] = None,
    cursor: Annotated[
        TextQuery, Query(description="pagination.nextCursor of the previous page")
    ] = None,
) -> dict[str, Any]:
    """Events newest first; ``cursor`` walks any number without OFFSET cost."""
    issues: list[tuple[str, str]] = []
    p = parse_int(page, "page", default=1, low=1, high=10**9, issues=issues)
    n = parse_int(limit, "limit", default=20, low=1, high=100, issues=issues)
    if issues:
        raise invalid(issues)
    monitor = await llm_monitor(session, auth, monitor_id)
    after = decode_cursor(cursor) if cursor else None
    rows = await list_events(session, monitor.id, limit=n, offset=(p - 1) * n, after=after)
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if len(rows) == n else None
    if after is not None:
        pagination: dict[str, Any] = {"limit": n, "nextCursor": next_cursor}
    else:
        total = await count_events(session, monitor.id)
        pages = -(-total // n)
        pagination = {
            "page": p,
            "limit": n,
            "total": total,
            "totalPages": pages,
            "nextCursor": next_cursor,
        }
    return {"data": [event_json(e) for e in rows], "pagination": pagination}


@router.get("/api/monitors/{monitor_id}/ingest-key", response_model=Data[IngestKeyState])
async def get_ingest_key(monitor_id: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """Whether ingest needs a key, and its last four characters."""
    monitor = await llm_monitor(session, auth, monitor_id)
    row = await session.get(AiSettings, monitor.id)
    required = row is not None and row.ingest_key_hash is not None
    return {
        "data": {"required": required, "last4": row.ingest_key_last4 if row and required else None}
    }


@router.post(
    "/api/monitors/{monitor_id}/ingest-key",
    status_code=201,
    response_model=Data[IngestKeyCreated],
)
async def create_ingest_key(
    monitor_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Require an ingest key from now on; the key is shown once (a new one replaces it)."""
    monitor = await llm_monitor(session, auth, monitor_id)
    key = "aik_" + secrets.token_urlsafe(24)
    row = await session.get(AiSettings, monitor.id)
    if row is None:
        row = AiSettings(monitor_id=monitor.id, updated_at=clock.now())
        session.add(row)
    row.ingest_key_hash = hash_key(key)
    row.ingest_key_last4 = key[-4:]
    row.updated_at = clock.now()
    return {"data": {"ingestKey": key, "header": "X-Vigil-Ingest-Key", "required": True}}


@router.delete(
    "/api/monitors/{monitor_id}/ingest-key", response_model=Data[IngestKeyState], **SHAPE
)
async def delete_ingest_key(
    monitor_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Stop requiring an ingest key."""
    monitor = await llm_monitor(session, auth, monitor_id)
    row = await session.get(AiSettings, monitor.id)
    if row is not None:
        row.ingest_key_hash = None
        row.ingest_key_last4 = None
        row.updated_at = clock.now()
    return {"data": {"required": False}}


def _price_json(row: AiPriceOverride) -> dict[str, Any]:
    return {
        "model": row.model,
        "inputPerMTok": row.input_per_mtok,
        "outputPerMTok": row.output_per_mtok,
        "cacheReadPerMTok": row.cache_read_per_mtok,
        "cacheWritePerMTok": row.cache_write_per_mtok,
        "updatedAt": row.updated_at.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{row.updated_at.microsecond // 1000:03d}Z",
    }


def _rate(body: dict[str, Any], name: str, issues: list[tuple[str, str]], *, required: bool) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            issues.append((name, "is required"))
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.append(
            (name, f"must be a number of USD per million tokens (0-{MAX_PRICE_PER_MTOK:g})")
        )
        return None
    if not 0 <= value <= MAX_PRICE_PER_MTOK:
        issues.append((name, f"must be between 0 and {MAX_PRICE_PER_MTOK:g}"))
        return None
    return float(value)


@router.get("/api/ai/prices", response_model=Data[list[Price]])
async def list_prices(auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """The organization's own model prices, which win over genai-prices."""
    rows = await session.scalars(
        select(AiPriceOverride)
        .where(AiPriceOverride.org_id == auth.org_id)
        .order_by(AiPriceOverride.model)
    )
    return {"data": [_price_json(r) for r in rows]}


@router.put(
    "/api/ai/prices/{model:path}",
    response_model=Data[Price],
    openapi_extra=body(PriceSet),
    responses={
        200: {
            "links": {
                "ai_delete_price": {
                    "operationId": "ai_delete_price",
                    "parameters": {"model": "$request.path.model"},
                }
            }
        }
    },
)
async def put_price(
    model: Annotated[str, Path(description="The model name, as events carry it (1-200 chars)")],
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
) -> dict[str, Any]:
    """Set the price of a model for this organization's events from now on."""
    body = await read_object(request)
    issues: list[tuple[str, str]] = [
        (k, "is not a price field") for k in sorted(set(body) - PRICE_FIELDS)
    ]
    if not model or len(model) > 200:
        issues.append(("model", "must be 1-200 characters"))
    values = {
        "input_per_mtok": _rate(body, "inputPerMTok", issues, required=True),
        "output_per_mtok": _rate(body, "outputPerMTok", issues, required=True),
        "cache_read_per_mtok": _rate(body, "cacheReadPerMTok", issues, required=False),
        "cache_write_per_mtok": _rate(body, "cacheWritePerMTok", issues, required=False),
    }
    if issues:
        raise invalid(issues)
    row = await session.get(AiPriceOverride, (auth.org_id, model))
    if row is None:
        row = AiPriceOverride(org_id=auth.org_id, model=model, **values, updated_at=clock.now())
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = clock.now()
    await session.flush()
    return {"data": _price_json(row)}


@router.delete("/api/ai/prices/{model:path}", response_model=Data[Deleted])
async def delete_price(model: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """Go back to genai-prices for this model."""
    result = await session.execute(
        delete(AiPriceOverride).where(
            AiPriceOverride.org_id == auth.org_id, AiPriceOverride.model == model
        )
    )
    if not getattr(result, "rowcount", 0):
        raise not_found("price", label="Price override")
    return {"data": {"deleted": True}}


def insight_json(row: AiInsight) -> dict[str, Any]:
    return {
        "id": row.id,
        "monitorId": row.monitor_id,
        "type": row.type,
        "severity": row.severity,
        "title": row.title,
        "description": row.description,
        "savings": row.savings_usd,
        "metadata": row.meta,
        "dismissed": row.dismissed,
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
    }


def _iso(value: Any) -> str:
    text: str = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return text


@router.get("/api/monitors/{monitor_id}/insights", response_model=Data[list[Insight]])
async def insights(monitor_id: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """Current findings of the insights job, each with evidence and a recommendation."""
    monitor = await llm_monitor(session, auth, monitor_id)
    return {"data": [insight_json(r) for r in await list_insights(session, monitor.id)]}


@router.post(
    "/api/monitors/{monitor_id}/insights/{insight_id}/dismiss", response_model=Data[Insight]
)
async def dismiss_insight(
    monitor_id: str, insight_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Hide an insight until its evidence changes materially."""
    monitor = await llm_monitor(session, auth, monitor_id)
    row = await session.get(AiInsight, insight_id)
    if row is None or row.monitor_id != monitor.id:
        raise not_found("insight")
    dismiss(row, now=clock.now())
    return {"data": insight_json(row)}
