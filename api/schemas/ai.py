"""AI monitoring: the ingest event, usage, events, ingest keys, prices, insights, budgets.

The ingest body is validated by ``ai.event.parse_event`` (shared with OTLP); this
model takes its limits from the same constants, and a test holds its field names
to ``ai.event.FIELDS``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ai import event as ev
from api.schemas.common import CursorPagination, ErrorBody, In, Out, Timestamp

Number = int | float
MAX_PRICE_PER_MTOK = 10_000.0
MAX_BUDGET_USD = 10_000_000.0

Count = Annotated[int, Field(ge=0, le=ev.MAX_TOKENS)]
Millis = Annotated[Number, Field(ge=0, le=ev.MAX_LATENCY_MS)]


class AiEventIn(In):
    """One LLM call. Rules across fields (cache and reasoning tokens within their
    totals, ``ttftMs`` within ``latencyMs``) answer 400."""

    provider: str = Field(min_length=1, max_length=64, examples=["openai"])
    model: str = Field(min_length=1, max_length=200, examples=["gpt-4o"])
    promptTokens: Count = Field(examples=[150], description="Every input token, cached included")
    completionTokens: Count = Field(examples=[80], description="Every output token")
    latencyMs: Millis = Field(examples=[1200])
    totalTokens: Annotated[int, Field(ge=0, le=3 * ev.MAX_TOKENS)] | None = Field(
        None, description="Default promptTokens + completionTokens; not below it"
    )
    statusCode: Annotated[int, Field(ge=100, le=599)] | None = None
    error: Annotated[str, Field(max_length=ev.MAX_ERROR_CHARS)] | None = None
    promptHash: Annotated[str, Field(max_length=128)] | None = None
    metadata: dict[str, Any] | None = Field(
        None, description=f"At most {ev.MAX_METADATA_BYTES} bytes as JSON"
    )
    ragDocsRetrieved: Annotated[int, Field(ge=0, le=ev.MAX_RAG_DOCS)] | None = None
    ragAvgRelevance: Annotated[Number, Field(ge=0, le=1)] | None = None
    ragRetrievalMs: Millis | None = None
    ragContextTokens: Count | None = None
    cacheReadTokens: Count | None = None
    cacheWriteTokens: Count | None = None
    reasoningTokens: Count | None = None
    ttftMs: Millis | None = Field(None, description="Time to first token")
    userId: Annotated[str, Field(max_length=200)] | None = None
    sessionId: Annotated[str, Field(max_length=200)] | None = None
    costUsd: Annotated[Number, Field(ge=0, le=ev.MAX_COST_USD)] | None = Field(
        None, description="The caller's own cost; wins over the price table"
    )
    timestamp: str | None = Field(
        None,
        examples=["2026-03-13T10:30:00Z"],
        description="ISO 8601; within the last 30 days and at most 5 minutes ahead",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "provider": "openai",
                    "model": "gpt-4o",
                    "promptTokens": 150,
                    "completionTokens": 80,
                    "latencyMs": 1200,
                }
            ]
        }
    }


class IngestAccepted(Out):
    id: str = Field(examples=["evt_abc123"])
    costUsd: Number | None = Field(examples=[0.0035], description="null: no price known")
    dailyEventsUsed: int = Field(examples=[42])
    dailyEventsLimit: int = Field(examples=[10000])


class IngestRefused(ErrorBody):
    """The error body; a 429 for the daily limit adds the day's counters."""

    dailyEventsUsed: int | None = None
    dailyEventsLimit: int | None = None


class ModelUsage(Out):
    model: str = Field(examples=["gpt-4o"])
    provider: str
    count: int = Field(examples=[800])
    totalCost: Number = Field(examples=[9.6])
    avgLatency: int | None = Field(examples=[920])
    unpricedEvents: int


class HourUsage(Out):
    hour: str = Field(examples=["2026-03-13T00:00:00Z"])
    events: int
    tokens: int
    cost: Number


class TokenTotals(Out):
    input: int
    output: int
    cacheRead: int
    cacheWrite: int
    reasoning: int


class RagStats(Out):
    totalRagEvents: int = Field(examples=[320])
    avgRelevance: Number | None = Field(examples=[0.82])
    avgDocsRetrieved: Number | None = Field(examples=[4.2])
    avgRetrievalMs: Number | None = Field(examples=[120])


class AiUsage(Out):
    period: str = Field(examples=["7d"])
    totalEvents: int = Field(examples=[1250])
    totalTokens: int = Field(examples=[850000])
    totalCost: Number = Field(examples=[12.45])
    unpricedEvents: int
    avgLatency: int | None = Field(examples=[890])
    p95Latency: int | None = Field(examples=[2100])
    errorRate: Number = Field(examples=[1.2], description="Percent")
    tokens: TokenTotals
    topModels: list[ModelUsage]
    hourlyUsage: list[HourUsage]
    ragStats: RagStats


class AiEvent(Out):
    id: str = Field(examples=["evt_001"])
    monitorId: str
    provider: str = Field(examples=["openai"])
    model: str = Field(examples=["gpt-4o"])
    inputTokens: int = Field(examples=[150])
    outputTokens: int = Field(examples=[80])
    totalTokens: int = Field(examples=[230])
    costUsd: Number | None = Field(examples=[0.0035])
    latencyMs: int = Field(examples=[1200])
    status: str = Field(examples=["success"], description="success or error")
    errorMessage: str | None
    createdAt: Timestamp
    statusCode: int | None
    cacheReadTokens: int | None
    cacheWriteTokens: int | None
    reasoningTokens: int | None
    ttftMs: int | None
    promptHash: str | None
    userId: str | None
    sessionId: str | None
    metadata: dict[str, Any] | None
    ragDocsRetrieved: int | None
    ragAvgRelevance: Number | None
    ragRetrievalMs: Number | None
    ragContextTokens: int | None
    costSource: str | None = Field(description="client, override or genai-prices")
    priceVersion: str | None
    source: str = Field(examples=["json"], description="json or otlp")


class IngestKeyState(Out):
    required: bool
    last4: str | None = Field(None, description="The key's last four characters")


class IngestKeyCreated(Out):
    ingestKey: str = Field(description="Shown only once", examples=["aik_..."])
    header: str = Field(examples=["X-Vigil-Ingest-Key"])
    required: bool


Rate = Annotated[Number, Field(ge=0, le=MAX_PRICE_PER_MTOK, description="USD per million tokens")]


class PriceSet(In):
    inputPerMTok: Rate = Field(examples=[2.5])
    outputPerMTok: Rate = Field(examples=[10])
    cacheReadPerMTok: Rate | None = None
    cacheWritePerMTok: Rate | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"inputPerMTok": 2.5, "outputPerMTok": 10, "cacheReadPerMTok": 1.25}]
        }
    }


PRICE_FIELDS = frozenset(PriceSet.model_fields)


class Price(Out):
    model: str = Field(examples=["gpt-4o"])
    inputPerMTok: Number
    outputPerMTok: Number
    cacheReadPerMTok: Number | None
    cacheWritePerMTok: Number | None
    updatedAt: Timestamp


class Deleted(Out):
    deleted: bool = Field(examples=[True])


class Insight(Out):
    id: str = Field(examples=["ins_001"])
    monitorId: str
    type: str = Field(examples=["model_downgrade"])
    severity: str = Field(examples=["warning"])
    title: str = Field(examples=["Consider using gpt-4o-mini"])
    description: str
    savings: Number | None = Field(examples=[4.5], description="USD a day")
    metadata: dict[str, Any]
    dismissed: bool
    createdAt: Timestamp
    updatedAt: Timestamp


Budget = Annotated[Number, Field(gt=0, le=MAX_BUDGET_USD, description="USD; null disables")]


class CostAlertSet(In):
    dailyBudget: Budget | None = Field(None, examples=[10.0])
    monthlyBudget: Budget | None = Field(None, examples=[200.0])
    alertEmails: str = Field(
        min_length=1,
        examples=["alice@example.com, bob@example.com"],
        description="Comma-separated email addresses",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"dailyBudget": 10.0, "monthlyBudget": 200.0, "alertEmails": "alice@example.com"}
            ]
        }
    }


COST_ALERT_FIELDS = frozenset(CostAlertSet.model_fields)


class CostAlert(Out):
    id: str = Field(examples=["ca_001"])
    monitorId: str
    dailyBudgetUsd: Number | None = Field(examples=[10.0])
    monthlyBudgetUsd: Number | None = Field(examples=[200.0])
    alertEmails: str = Field(examples=["alice@example.com, bob@example.com"])
    lastDailyAlert: Timestamp | None = Field(None, description="GET only")
    lastMonthlyAlert: Timestamp | None = Field(None, description="GET only")


class AiEventPage(Out):
    data: list[AiEvent]
    pagination: CursorPagination
