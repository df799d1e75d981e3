"""The insight rules: pure functions from usage figures to findings with their evidence.

Each rule states its thresholds here, so a reader can see why an insight fired.
Hour-over-hour rules compare the last complete hour with the same hour of the
previous seven days using the median and the median absolute deviation (MAD),
so one odd day in the baseline does not move it.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ai.event import EventInput
from ai.pricing import genai_price

# model_downgrade: most requests are short and a sibling costs at most half as much.
DOWNGRADE_MIN_EVENTS = 50
DOWNGRADE_SHORT_SHARE = 0.6
DOWNGRADE_MAX_PRICE_RATIO = 0.5
# The cheaper sibling from the same provider, by model name prefix (longest first).
SIBLINGS: Sequence[tuple[str, str, str]] = (
    ("openai", "gpt-4o-mini", ""),
    ("openai", "gpt-4.1-mini", "gpt-4.1-nano"),
    ("openai", "gpt-4.1", "gpt-4.1-mini"),
    ("openai", "gpt-4o", "gpt-4o-mini"),
    ("openai", "gpt-4-turbo", "gpt-4o-mini"),
    ("openai", "gpt-5", "gpt-5-mini"),
    ("anthropic", "claude-opus-4", "claude-sonnet-4-20250514"),
    ("anthropic", "claude-sonnet-4", "claude-3-5-haiku-latest"),
    ("anthropic", "claude-3-7-sonnet", "claude-3-5-haiku-latest"),
    ("anthropic", "claude-3-5-sonnet", "claude-3-5-haiku-latest"),
    ("google", "gemini-2.5-pro", "gemini-2.5-flash"),
    ("google", "gemini-1.5-pro", "gemini-1.5-flash"),
)
# caching_opportunity: a prompt sent this often in a day, or long prompts never cached.
REPEAT_MIN_COUNT = 5
REPEAT_MIN_SHARE = 0.2
CACHING_PROVIDERS = frozenset({"openai", "anthropic", "google", "deepseek"})
UNCACHED_MIN_EVENTS = 50
UNCACHED_MIN_AVG_INPUT = 1024
# Hour-over-hour: at least this many events in the hour and in the baseline hours.
HOURLY_MIN_EVENTS = 20
MAD_SCALE = 1.4826  # MAD to a standard deviation for normal data
ROBUST_Z = 3.0
ERROR_MIN_RATE = 0.05
ERROR_FLOOR = 0.01
LATENCY_MIN_RATIO = 1.5
COST_MIN_RATIO = 2.0
# RAG rules, over the last 24 hours.
RAG_MIN_EVENTS = 20
RAG_LOW_RELEVANCE = 0.5
RAG_BLOAT_SHARE = 0.6
RAG_BLOAT_MIN_TOKENS = 2000
# runaway_session: one session far above the median session's cost.
SESSION_MIN_SESSIONS = 5
SESSION_FACTOR = 10.0
SESSION_MIN_COST = 1.0


@dataclass(frozen=True)
class Finding:
    type: str
    subject: str
    severity: str  # info | warning | critical
    title: str
    description: str
    savings: float | None
    magnitude: float
    evidence: dict[str, Any] = field(default_factory=dict)
    recommendation: str = ""

    @property
    def rule_key(self) -> str:
        return f"{self.type}:{self.subject}"


@dataclass(frozen=True)
class ModelDay:
    """One model's last 24 hours, summed from the rollups."""

    provider: str
    model: str
    events: int
    short_events: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cost_usd: float
    priced: int
    rag_events: int = 0
    rag_relevance_sum: float = 0.0
    rag_relevance_count: int = 0
    rag_context_tokens_sum: int = 0


@dataclass(frozen=True)
class HourFigures:
    events: int
    errors: int
    latency_sum_ms: int
    cost_usd: float


def sibling_of(provider: str, model: str) -> str | None:
    for prov, prefix, sibling in SIBLINGS:
        if prov == provider and model.startswith(prefix):
            return sibling or None
    return None


def _avg_event(day: ModelDay, model: str, at: datetime) -> EventInput:
    return EventInput(
        provider=day.provider,
        model=model,
        input_tokens=day.input_tokens // max(1, day.events),
        output_tokens=day.output_tokens // max(1, day.events),
        total_tokens=(day.input_tokens + day.output_tokens) // max(1, day.events),
        latency_ms=0,
        created_at=at,
    )


def model_downgrade(days: Sequence[ModelDay], *, now: datetime) -> list[Finding]:
    out = []
    for d in days:
        sibling = sibling_of(d.provider, d.model)
        if sibling is None or d.events < DOWNGRADE_MIN_EVENTS or not d.priced:
            continue
        share = d.short_events / d.events
        if share < DOWNGRADE_SHORT_SHARE:
            continue
        mine = genai_price(_avg_event(d, d.model, now))
        theirs = genai_price(_avg_event(d, sibling, now))
        if not mine or theirs is None or theirs / mine > DOWNGRADE_MAX_PRICE_RATIO:
            continue
        savings = d.cost_usd * share * (1 - theirs / mine)
        out.append(
            Finding(
                type="model_downgrade",
                subject=d.model,
                severity="warning",
                title=f"Consider using {sibling}",
                description=(
                    f"{share:.0%} of your {d.model} requests use fewer than 500 tokens. "
                    f"{sibling} costs {theirs / mine:.0%} as much for the same tokens."
                ),
                savings=round(savings, 4),
                magnitude=round(share, 2),
                evidence={
                    "model": d.model,
                    "events24h": d.events,
                    "shortShare": round(share, 4),
                    "sibling": sibling,
                    "priceRatio": round(theirs / mine, 4),
                },
                recommendation=(f"Switch short prompts to {sibling} to save ~${savings:,.2f}/day."),
            )
        )
    return out


def repeated_prompts(
    hashes: Mapping[str, tuple[int, float]], total_events: int, total_cost: float
) -> list[Finding]:
    """caching_opportunity from prompt hashes: (count, cost) per hash over 24 h."""
    repeated = {h: v for h, v in hashes.items() if v[0] >= REPEAT_MIN_COUNT}
    repeats = sum(n - 1 for n, _ in repeated.values())
    if not total_events or repeats / total_events < REPEAT_MIN_SHARE:
        return []
    savings = sum(cost * (n - 1) / n for n, cost in repeated.values())
    top = sorted(repeated.items(), key=lambda kv: -kv[1][0])[:5]
    return [
        Finding(
            type="caching_opportunity",
            subject="prompt_hash",
            severity="warning",
            title="The same prompts are sent again and again",
            description=(
                f"{repeats} of {total_events} requests in the last 24 hours repeat a prompt "
                f"already sent ({len(repeated)} prompts sent {REPEAT_MIN_COUNT}+ times)."
            ),
            savings=round(savings, 4),
            magnitude=round(repeats / total_events, 2),
            evidence={
                "repeatedRequests": repeats,
                "requests24h": total_events,
                "topPromptHashes": [{"promptHash": h, "count": n} for h, (n, _) in top],
                "cost24h": round(total_cost, 6),
            },
            recommendation="Cache responses to repeated prompts (keyed by prompt hash).",
        )
    ]


def uncached_prompts(days: Sequence[ModelDay], *, now: datetime) -> list[Finding]:
    """caching_opportunity: long prompts to a caching provider with no cache reads at all."""
    out = []
    for d in days:
        if d.provider not in CACHING_PROVIDERS or d.events < UNCACHED_MIN_EVENTS:
            continue
        avg_input = d.input_tokens / d.events
        if d.cache_read_tokens or avg_input < UNCACHED_MIN_AVG_INPUT or not d.priced:
            continue
        full = genai_price(_avg_event(d, d.model, now))
        half = EventInput(
            **{
                **_avg_event(d, d.model, now).__dict__,
                "cache_read_tokens": int(avg_input // 2),
            }
        )
        cached = genai_price(half)
        if not full or cached is None or cached >= full:
            continue
        savings = d.cost_usd * (1 - cached / full)
        out.append(
            Finding(
                type="caching_opportunity",
                subject=f"no_cache:{d.model}",
                severity="info",
                title=f"Prompt caching is unused on {d.model}",
                description=(
                    f"{d.events} requests averaging {avg_input:,.0f} input tokens read nothing "
                    f"from {d.provider}'s prompt cache in the last 24 hours."
                ),
                savings=round(savings, 4),
                magnitude=round(avg_input, -2),
                evidence={"model": d.model, "events24h": d.events, "avgInputTokens": avg_input},
                recommendation=(
                    "Put the stable part of the prompt first so the provider caches it; "
                    f"if half of each prompt were cached: ~${savings:,.2f}/day."
                ),
            )
        )
    return out


def _robust(baseline: Sequence[float]) -> tuple[float, float]:
    median = statistics.median(baseline)
    mad = statistics.median(abs(v - median) for v in baseline)
    return median, MAD_SCALE * mad


def hourly_anomalies(
    current: HourFigures | None, baseline: Sequence[HourFigures], *, hour: datetime
) -> list[Finding]:
    """error_spike, latency_regression and cost_anomaly for the last complete hour."""
    if current is None or current.events < HOURLY_MIN_EVENTS:
        return []
    base = [b for b in baseline if b.events >= HOURLY_MIN_EVENTS]
    if len(base) < 3:
        return []
    label = hour.strftime("%H:00 UTC")
    out = []
    rate = current.errors / current.events
    med, spread = _robust([b.errors / b.events for b in base])
    if rate >= ERROR_MIN_RATE and rate > med + ROBUST_Z * max(spread, ERROR_FLOOR):
        out.append(
            Finding(
                type="error_spike",
                subject="hourly",
                severity="critical" if rate >= 0.25 else "warning",
                title=f"Error rate jumped to {rate:.0%} at {label}",
                description=(
                    f"{current.errors} of {current.events} requests failed in the hour from "
                    f"{label}; the same hour of the previous days had a median of {med:.1%}."
                ),
                savings=None,
                magnitude=round(rate, 2),
                evidence={"hour": hour.isoformat(), "errorRate": rate, "baselineMedian": med},
                recommendation="Look at the failed events' errors; check the provider's status.",
            )
        )
    latency = current.latency_sum_ms / current.events
    med, spread = _robust([b.latency_sum_ms / b.events for b in base])
    if latency > med * LATENCY_MIN_RATIO and latency > med + ROBUST_Z * max(spread, 0.1 * med):
        out.append(
            Finding(
                type="latency_regression",
                subject="hourly",
                severity="warning",
                title=f"Latency rose to {latency:,.0f} ms at {label}",
                description=(
                    f"Average latency was {latency:,.0f} ms in the hour from {label}, against "
                    f"a median of {med:,.0f} ms in the same hour of the previous days."
                ),
                savings=None,
                magnitude=round(latency / med, 1) if med else latency,
                evidence={"hour": hour.isoformat(), "avgLatencyMs": latency, "baselineMedian": med},
                recommendation="Check for longer prompts, a slower model or provider trouble.",
            )
        )
    med, spread = _robust([b.cost_usd for b in base])
    if current.cost_usd > med * COST_MIN_RATIO and current.cost_usd > med + ROBUST_Z * max(
        spread, 0.1 * med
    ):
        excess = current.cost_usd - med
        out.append(
            Finding(
                type="cost_anomaly",
                subject="hourly",
                severity="warning",
                title=f"Spend of ${current.cost_usd:,.2f} at {label} is unusual",
                description=(
                    f"The hour from {label} cost ${current.cost_usd:,.2f}; the same hour of "
                    f"the previous days had a median of ${med:,.2f}."
                ),
                savings=round(excess, 4),
                magnitude=round(current.cost_usd / med, 1) if med else current.cost_usd,
                evidence={
                    "hour": hour.isoformat(),
                    "costUsd": current.cost_usd,
                    "baselineMedian": med,
                },
                recommendation="Find what sent more or larger requests in that hour.",
            )
        )
    return out


def rag_rules(days: Sequence[ModelDay]) -> list[Finding]:
    events = sum(d.rag_events for d in days)
    if events < RAG_MIN_EVENTS:
        return []
    out = []
    rel_n = sum(d.rag_relevance_count for d in days)
    relevance = sum(d.rag_relevance_sum for d in days) / rel_n if rel_n else None
    if relevance is not None and relevance < RAG_LOW_RELEVANCE:
        out.append(
            Finding(
                type="rag_low_relevance",
                subject="rag",
                severity="warning",
                title=f"Retrieved documents are weakly relevant ({relevance:.2f})",
                description=(
                    f"The average relevance of retrieved documents was {relevance:.2f} over "
                    f"{rel_n} retrievals in the last 24 hours (below {RAG_LOW_RELEVANCE})."
                ),
                savings=None,
                magnitude=round(relevance, 1),
                evidence={"avgRelevance": relevance, "ragEvents24h": events},
                recommendation="Review chunking, embeddings or filters; drop low-score documents.",
            )
        )
    input_tokens = sum(d.input_tokens for d in days if d.rag_events)
    context = sum(d.rag_context_tokens_sum for d in days)
    cost = sum(d.cost_usd for d in days if d.rag_events)
    if input_tokens and events:
        share = context / input_tokens
        avg_context = context / events
        if share >= RAG_BLOAT_SHARE and avg_context >= RAG_BLOAT_MIN_TOKENS:
            savings = cost * share / 2
            out.append(
                Finding(
                    type="rag_context_bloat",
                    subject="rag",
                    severity="info",
                    title=f"Retrieved context is {share:.0%} of the prompt",
                    description=(
                        f"RAG requests carry {avg_context:,.0f} context tokens on average, "
                        f"{share:.0%} of their input tokens."
                    ),
                    savings=round(savings, 4),
                    magnitude=round(share, 1),
                    evidence={"avgContextTokens": avg_context, "contextShare": share},
                    recommendation=(
                        "Retrieve fewer or shorter chunks; halving the context would save "
                        f"~${savings:,.2f}/day."
                    ),
                )
            )
    return out


def runaway_sessions(sessions: Mapping[str, tuple[int, float]]) -> list[Finding]:
    """runaway_session: (events, cost) per session over 24 h."""
    if len(sessions) < SESSION_MIN_SESSIONS:
        return []
    median = statistics.median(cost for _, cost in sessions.values())
    out = []
    for sid, (n, cost) in sorted(sessions.items(), key=lambda kv: -kv[1][1])[:3]:
        if cost < SESSION_MIN_COST or cost < SESSION_FACTOR * max(median, 1e-9):
            continue
        out.append(
            Finding(
                type="runaway_session",
                subject=sid,
                severity="warning",
                title=f"Session {sid} cost ${cost:,.2f}",
                description=(
                    f"Session {sid} made {n} requests costing ${cost:,.2f} in the last 24 hours, "
                    f"{cost / median if median else float('inf'):,.0f}x the median session "
                    f"(${median:,.4f})."
                ),
                savings=round(cost - median, 4),
                magnitude=round(cost, 0),
                evidence={"sessionId": sid, "events": n, "costUsd": cost, "medianCostUsd": median},
                recommendation="Cap the turns or tokens per session; look for a loop.",
            )
        )
    return out
