"""Tables of AI/LLM monitoring: events, hourly rollups, daily counters, settings, insights."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigId

__all__ = [
    "LATENCY_BOUNDS_MS",
    "LATENCY_BUCKETS",
    "AiCostAlert",
    "AiDailyCount",
    "AiEvent",
    "AiInsight",
    "AiPriceOverride",
    "AiRollup",
    "AiSettings",
]

# Upper bounds (ms) of the latency histogram buckets kept in ``ai_rollups``; the
# last bucket (``lat_18``) holds everything above the last bound.
LATENCY_BOUNDS_MS = (
    50,
    100,
    200,
    300,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    7500,
    10000,
    15000,
    20000,
    30000,
    60000,
    120000,
)
LATENCY_BUCKETS = len(LATENCY_BOUNDS_MS) + 1


class AiEvent(Base):
    """One LLM call reported by the user's application (JSON ingest or OTLP)."""

    __tablename__ = "ai_events"
    __table_args__ = (Index(None, "monitor_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    received_at: Mapped[datetime]
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(BigId)
    output_tokens: Mapped[int] = mapped_column(BigId)
    total_tokens: Mapped[int] = mapped_column(BigId)
    cache_read_tokens: Mapped[int | None] = mapped_column(BigId)
    cache_write_tokens: Mapped[int | None] = mapped_column(BigId)
    reasoning_tokens: Mapped[int | None] = mapped_column(BigId)
    latency_ms: Mapped[int] = mapped_column(Integer)
    ttft_ms: Mapped[int | None] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    prompt_hash: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(String(200))
    meta: Mapped[dict[str, Any] | None]
    rag_docs: Mapped[int | None] = mapped_column(Integer)
    rag_relevance: Mapped[float | None]
    rag_retrieval_ms: Mapped[float | None]
    rag_context_tokens: Mapped[int | None] = mapped_column(BigId)
    # None: unpriced (unknown model, no override, no client cost), never $0.
    cost_usd: Mapped[float | None]
    # "client" (sent with the event), "override" (owner's price), "genai-prices".
    cost_source: Mapped[str | None] = mapped_column(String(16))
    price_version: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8), default="json")


class AiRollup(Base):
    """Per monitor, hour and model: the sums every AI aggregate reads."""

    __tablename__ = "ai_rollups"

    monitor_id: Mapped[str] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(BigId)
    errors: Mapped[int] = mapped_column(BigId)
    input_tokens: Mapped[int] = mapped_column(BigId)
    output_tokens: Mapped[int] = mapped_column(BigId)
    total_tokens: Mapped[int] = mapped_column(BigId)
    cache_read_tokens: Mapped[int] = mapped_column(BigId)
    cache_write_tokens: Mapped[int] = mapped_column(BigId)
    reasoning_tokens: Mapped[int] = mapped_column(BigId)
    cost_usd: Mapped[float]
    priced: Mapped[int] = mapped_column(BigId)
    unpriced: Mapped[int] = mapped_column(BigId)
    latency_sum_ms: Mapped[int] = mapped_column(BigId)
    latency_max_ms: Mapped[int] = mapped_column(BigId)
    rag_events: Mapped[int] = mapped_column(BigId)
    rag_docs_sum: Mapped[int] = mapped_column(BigId)
    rag_relevance_sum: Mapped[float]
    rag_relevance_count: Mapped[int] = mapped_column(BigId)
    rag_retrieval_ms_sum: Mapped[float]
    rag_retrieval_count: Mapped[int] = mapped_column(BigId)
    rag_context_tokens_sum: Mapped[int] = mapped_column(BigId)
    short_events: Mapped[int] = mapped_column(BigId)
    lat_0: Mapped[int] = mapped_column(BigId)
    lat_1: Mapped[int] = mapped_column(BigId)
    lat_2: Mapped[int] = mapped_column(BigId)
    lat_3: Mapped[int] = mapped_column(BigId)
    lat_4: Mapped[int] = mapped_column(BigId)
    lat_5: Mapped[int] = mapped_column(BigId)
    lat_6: Mapped[int] = mapped_column(BigId)
    lat_7: Mapped[int] = mapped_column(BigId)
    lat_8: Mapped[int] = mapped_column(BigId)
    lat_9: Mapped[int] = mapped_column(BigId)
    lat_10: Mapped[int] = mapped_column(BigId)
    lat_11: Mapped[int] = mapped_column(BigId)
    lat_12: Mapped[int] = mapped_column(BigId)
    lat_13: Mapped[int] = mapped_column(BigId)
    lat_14: Mapped[int] = mapped_column(BigId)
    lat_15: Mapped[int] = mapped_column(BigId)
    lat_16: Mapped[int] = mapped_column(BigId)
    lat_17: Mapped[int] = mapped_column(BigId)
    lat_18: Mapped[int] = mapped_column(BigId)


class AiDailyCount(Base):
    """Accepted events per monitor per UTC day, for the plan's daily limit."""

    __tablename__ = "ai_daily_counts"

    monitor_id: Mapped[str] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    events: Mapped[int] = mapped_column(BigId)


class AiSettings(Base):
    """An LLM monitor's ingest key (hash only), when its owner requires one."""

    __tablename__ = "ai_settings"

    monitor_id: Mapped[str] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    ingest_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ingest_key_last4: Mapped[str | None] = mapped_column(String(4))
    updated_at: Mapped[datetime]


class AiPriceOverride(Base):
    """An organization's own price for a model, in USD per million tokens."""

    __tablename__ = "ai_price_overrides"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    input_per_mtok: Mapped[float]
    output_per_mtok: Mapped[float]
    cache_read_per_mtok: Mapped[float | None]
    cache_write_per_mtok: Mapped[float | None]
    updated_at: Mapped[datetime]


class AiInsight(Base):
    """A finding of the insights job; one row per (monitor, rule, subject)."""

    __tablename__ = "ai_insights"
    __table_args__ = (Index(None, "monitor_id", "rule_key", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    # type + subject (a model, a session, a prompt hash): what makes it the same insight.
    rule_key: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    savings_usd: Mapped[float | None]
    meta: Mapped[dict[str, Any]]
    # The evidence's headline figure when last shown or dismissed: a material change
    # (see ai.insights.MATERIAL) brings a dismissed insight back.
    magnitude: Mapped[float]
    dismissed: Mapped[bool]
    dismissed_magnitude: Mapped[float | None]
    is_active: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AiCostAlert(Base):
    """Budgets of an LLM monitor and when each last alerted (per period)."""

    __tablename__ = "ai_cost_alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    monitor_id: Mapped[str] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), unique=True
    )
    daily_budget_usd: Mapped[float | None]
    monthly_budget_usd: Mapped[float | None]
    alert_emails: Mapped[str] = mapped_column(Text)
    # The EMAIL channel (managed by this alert) that carries mail to alert_emails.
    channel_id: Mapped[str | None] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="SET NULL")
    )
    # Last alert of each period: the 100 % alert; the 80 % warning in *_warning.
    last_daily_alert: Mapped[datetime | None]
    last_monthly_alert: Mapped[datetime | None]
    last_daily_warning: Mapped[datetime | None]
    last_monthly_warning: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
