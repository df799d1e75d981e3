"""An AI event as the ingest API takes it: parsing and validation, pure.

Token conventions (documented in docs/ai-monitoring.md): ``promptTokens`` counts
every input token, cached ones included (OpenAI's ``prompt_tokens``), so
``cacheReadTokens + cacheWriteTokens <= promptTokens``; ``completionTokens``
counts every output token, reasoning included, so ``reasoningTokens <=
completionTokens``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_BODY = 64 * 1024
# Far above any model's context window: a larger count is a bug in the sender.
MAX_TOKENS = 10_000_000
MAX_LATENCY_MS = 3_600_000
MAX_COST_USD = 1_000.0
MAX_METADATA_BYTES = 8 * 1024
MAX_ERROR_CHARS = 4_000
MAX_RAG_DOCS = 10_000
# An event may carry its own time (OTLP spans do): not from the future, not too old.
MAX_FUTURE = timedelta(minutes=5)
MAX_PAST = timedelta(days=30)

FIELDS = frozenset(
    {
        "provider",
        "model",
        "promptTokens",
        "completionTokens",
        "latencyMs",
        "totalTokens",
        "statusCode",
        "error",
        "promptHash",
        "metadata",
        "ragDocsRetrieved",
        "ragAvgRelevance",
        "ragRetrievalMs",
        "ragContextTokens",
        "cacheReadTokens",
        "cacheWriteTokens",
        "reasoningTokens",
        "ttftMs",
        "userId",
        "sessionId",
        "costUsd",
        "timestamp",
    }
)

Issue = tuple[str, str]


@dataclass(frozen=True)
class EventInput:
    """One validated event, before pricing."""

    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    latency_ms: int
    created_at: datetime
    status_code: int | None = None
    error: str | None = None
    prompt_hash: str | None = None
    metadata: dict[str, Any] | None = None
    rag_docs: int | None = None
    rag_relevance: float | None = None
    rag_retrieval_ms: float | None = None
    rag_context_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    ttft_ms: int | None = None
    user_id: str | None = None
    session_id: str | None = None
    client_cost_usd: float | None = None
    source: str = "json"

    @property
    def is_error(self) -> bool:
        return self.error is not None or (self.status_code is not None and self.status_code >= 400)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


class _Reader:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.issues: list[Issue] = []

    def text(self, name: str, *, max_len: int, required: bool = False) -> str | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.issues.append((name, "is required"))
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.issues.append(
                (name, "must be a non-empty string" if required else "must be a string")
            )
            return None
        if len(value) > max_len:
            self.issues.append((name, f"must be at most {max_len} characters"))
            return None
        return value.strip() if required else value

    def count(self, name: str, *, high: int, required: bool = False) -> int | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.issues.append((name, "is required"))
            return None
        if not _is_int(value) and not (isinstance(value, float) and value.is_integer()):
            self.issues.append((name, f"must be a whole number between 0 and {high:,}"))
            return None
        if not 0 <= value <= high:
            self.issues.append((name, f"must be between 0 and {high:,}"))
            return None
        return int(value)

    def number(self, name: str, *, high: float, required: bool = False) -> float | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.issues.append((name, "is required"))
            return None
        if not _is_number(value):
            self.issues.append((name, f"must be a number between 0 and {high:g}"))
            return None
        if not 0 <= value <= high:
            self.issues.append((name, f"must be between 0 and {high:g}"))
            return None
        return float(value)


def _timestamp(raw: Any, now: datetime, issues: list[Issue]) -> datetime:
    if raw is None:
        return now
    try:
        if not isinstance(raw, str):
            raise ValueError
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        issues.append(("timestamp", "must be an ISO 8601 time such as 2026-03-13T10:30:00Z"))
        return now
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if at > now + MAX_FUTURE:
        issues.append(("timestamp", "must not be more than 5 minutes in the future"))
    elif at < now - MAX_PAST:
        issues.append(("timestamp", "must be within the last 30 days"))
    return at


def parse_event(body: Any, *, now: datetime) -> tuple[EventInput | None, list[Issue]]:
    """Validate an ingest body; returns the event, or None and every field's issue."""
    if not isinstance(body, dict):
        return None, [("body", "must be a JSON object")]
    issues: list[Issue] = [(k, "is not an ingest field") for k in sorted(set(body) - FIELDS)]
    r = _Reader(body)
    provider = r.text("provider", max_len=64, required=True)
    model = r.text("model", max_len=200, required=True)
    prompt = r.count("promptTokens", high=MAX_TOKENS, required=True)
    completion = r.count("completionTokens", high=MAX_TOKENS, required=True)
    latency = r.number("latencyMs", high=MAX_LATENCY_MS, required=True)
    total = r.count("totalTokens", high=3 * MAX_TOKENS)
    cache_read = r.count("cacheReadTokens", high=MAX_TOKENS)
    cache_write = r.count("cacheWriteTokens", high=MAX_TOKENS)
    reasoning = r.count("reasoningTokens", high=MAX_TOKENS)
    ttft = r.number("ttftMs", high=MAX_LATENCY_MS)
    status_code = body.get("statusCode")
    if status_code is not None and (not _is_int(status_code) or not 100 <= status_code <= 599):
        issues.append(("statusCode", "must be an HTTP status code (100-599)"))
        status_code = None
    error = r.text("error", max_len=MAX_ERROR_CHARS)
    prompt_hash = r.text("promptHash", max_len=128)
    user_id = r.text("userId", max_len=200)
    session_id = r.text("sessionId", max_len=200)
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            issues.append(("metadata", "must be a JSON object"))
            metadata = None
        elif len(json.dumps(metadata, separators=(",", ":"))) > MAX_METADATA_BYTES:
            issues.append(("metadata", f"must be at most {MAX_METADATA_BYTES} bytes as JSON"))
            metadata = None
    rag_docs = r.count("ragDocsRetrieved", high=MAX_RAG_DOCS)
    relevance = r.number("ragAvgRelevance", high=1.0)
    retrieval = r.number("ragRetrievalMs", high=MAX_LATENCY_MS)
    context = r.count("ragContextTokens", high=MAX_TOKENS)
    cost = r.number("costUsd", high=MAX_COST_USD)
    created_at = _timestamp(body.get("timestamp"), now, issues)
    issues = issues + r.issues
    if prompt is not None and (cache_read or 0) + (cache_write or 0) > prompt:
        issues.append(
            ("cacheReadTokens", "cacheReadTokens + cacheWriteTokens must not exceed promptTokens")
        )
    if completion is not None and reasoning is not None and reasoning > completion:
        issues.append(("reasoningTokens", "must not exceed completionTokens"))
    if prompt is not None and completion is not None and total is not None:  # noqa: SIM102
        if total < prompt + completion:
            issues.append(("totalTokens", "must be at least promptTokens + completionTokens"))
    if latency is not None and ttft is not None and ttft > latency:
        issues.append(("ttftMs", "must not exceed latencyMs"))
    if issues:
        return None, issues
    assert provider and model and prompt is not None and completion is not None
    assert latency is not None
    return (
        EventInput(
            provider=provider.lower(),
            model=model,
            input_tokens=prompt,
            output_tokens=completion,
            total_tokens=total if total is not None else prompt + completion,
            latency_ms=round(latency),
            created_at=created_at,
            status_code=status_code,
            error=error,
            prompt_hash=prompt_hash,
            metadata=metadata,
            rag_docs=rag_docs,
            rag_relevance=relevance,
            rag_retrieval_ms=retrieval,
            rag_context_tokens=context,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            reasoning_tokens=reasoning,
            ttft_ms=round(ttft) if ttft is not None else None,
            user_id=user_id,
            session_id=session_id,
            client_cost_usd=cost,
        ),
        [],
    )
