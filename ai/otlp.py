"""OTLP/HTTP traces to AI events: GenAI semantic conventions and OpenInference spans.

A span is an LLM call when it carries ``gen_ai.operation.name`` (chat,
text_completion, embeddings, generate_content), a ``gen_ai.system`` /
``gen_ai.provider.name``, or OpenInference's ``openinference.span.kind = LLM``.
Its attributes become the reference's ingest fields and go through the same
validation as the JSON ingest. Retrieval spans (OpenInference ``RETRIEVER``, or
``gen_ai.operation.name = retrieval``) that share the LLM span's parent (or are
its parent's children in the same trace) give the RAG figures: documents
retrieved, their average score and the retrieval's duration.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ai.event import EventInput, parse_event

LLM_OPERATIONS = frozenset({"chat", "text_completion", "embeddings", "generate_content"})
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class OtlpError(ValueError):
    """The body is not an OTLP trace export."""


def parse_request(body: bytes, *, json_body: bool) -> ExportTraceServiceRequest:
    """An ExportTraceServiceRequest from protobuf or OTLP/JSON (hex ids) bytes."""
    request = ExportTraceServiceRequest()
    try:
        if json_body:
            data = json.loads(body)
            _hex_ids_to_base64(data)
            json_format.ParseDict(data, request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (ValueError, json_format.ParseError, DecodeError) as exc:
        raise OtlpError(f"not an OTLP trace export: {exc}") from None
    return request


def _hex_ids_to_base64(node: Any) -> None:
    """OTLP/JSON writes ids in hex; protobuf's JSON mapping wants base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str) and value:
                with contextlib.suppress(ValueError):
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def response_bytes(rejected: int, message: str, *, json_body: bool) -> bytes:
    """OTLP's answer: empty on full success, ``partial_success`` when spans were refused."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if json_body:
        text: str = json_format.MessageToJson(response)
        return text.encode()
    raw: bytes = response.SerializeToString()
    return raw


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def attributes(span: Span) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in span.attributes}


def _first(attrs: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if attrs.get(name) is not None:
            return attrs[name]
    return None


def is_llm(attrs: Mapping[str, Any]) -> bool:
    return (
        attrs.get("gen_ai.operation.name") in LLM_OPERATIONS
        or attrs.get("openinference.span.kind") == "LLM"
        or (
            _first(attrs, "gen_ai.system", "gen_ai.provider.name") is not None
            and attrs.get("gen_ai.operation.name") != "retrieval"
        )
    )


def is_retrieval(attrs: Mapping[str, Any]) -> bool:
    return (
        attrs.get("openinference.span.kind") == "RETRIEVER"
        or attrs.get("gen_ai.operation.name") == "retrieval"
    )


def _ms(span: Span) -> float:
    return max(0.0, (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6)


def _scores(attrs: Mapping[str, Any]) -> tuple[int, list[float]]:
    """OpenInference ``retrieval.documents.N.document.score``, or a plain count."""
    indexes = set()
    scores = []
    for key, value in attrs.items():
        if key.startswith("retrieval.documents."):
            parts = key.split(".")
            if len(parts) > 2 and parts[2].isdigit():
                indexes.add(parts[2])
                if key.endswith(".document.score") and isinstance(value, int | float):
                    scores.append(float(value))
    count = len(indexes) or int(
        _first(attrs, "retrieval.documents.count", "db.response.returned_rows") or 0
    )
    return count, scores


@dataclass(frozen=True)
class Mapped:
    events: list[EventInput]
    rejected: int
    first_error: str


def body_for(span: Span, attrs: Mapping[str, Any], rag: Sequence[Span]) -> dict[str, Any]:
    """The reference's ingest fields for one LLM span (validated by ``parse_event``)."""
    body: dict[str, Any] = {
        "provider": str(
            _first(attrs, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
            or "unknown"
        ),
        "model": _first(attrs, "gen_ai.response.model", "gen_ai.request.model", "llm.model_name"),
        "promptTokens": _first(
            attrs,
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        )
        or 0,
        "completionTokens": _first(
            attrs,
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        )
        or 0,
        "latencyMs": _ms(span),
        "timestamp": datetime.fromtimestamp(span.start_time_unix_nano / 1e9, UTC).isoformat(),
    }
    optional = {
        "cacheReadTokens": (
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ),
        "cacheWriteTokens": (
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ),
        "reasoningTokens": (
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.reasoning_tokens",
            "llm.token_count.completion_details.reasoning",
        ),
        "sessionId": ("gen_ai.conversation.id", "session.id"),
        "userId": ("user.id", "enduser.id"),
        "statusCode": ("http.response.status_code",),
    }
    for field, names in optional.items():
        value = _first(attrs, *names)
        if value is not None:
            body[field] = value
    ttft_s = _first(
        attrs, "gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token"
    )
    if isinstance(ttft_s, int | float):
        body["ttftMs"] = min(ttft_s * 1000, body["latencyMs"])
    error = attrs.get("error.type")
    if span.status.code == Status.STATUS_CODE_ERROR:
        error = span.status.message or error or "error"
    if error:
        body["error"] = str(error)[:4000]
    if rag:
        docs = 0
        scores: list[float] = []
        for r in rag:
            count, found = _scores(attributes(r))
            docs += count
            scores += found
        body["ragDocsRetrieved"] = docs
        body["ragRetrievalMs"] = sum(_ms(r) for r in rag)
        if scores:
            body["ragAvgRelevance"] = min(1.0, max(0.0, sum(scores) / len(scores)))
    return body


def map_request(request: ExportTraceServiceRequest, *, now: datetime) -> Mapped:
    """AI events from every LLM span of the export; non-LLM spans are ignored (not refused)."""
    spans: list[Span] = [
        s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
    ]
    retrievals: dict[tuple[bytes, bytes], list[Span]] = defaultdict(list)
    for s in spans:
        if is_retrieval(attributes(s)):
            retrievals[(s.trace_id, s.parent_span_id)].append(s)
            # A retrieval inside the LLM span's parent chain (a child of it) counts too.
            retrievals[(s.trace_id, b"child:" + s.parent_span_id)].append(s)
    events: list[EventInput] = []
    rejected = 0
    first_error = ""
    for s in spans:
        attrs = attributes(s)
        if not is_llm(attrs) or is_retrieval(attrs):
            continue
        rag = retrievals.get((s.trace_id, s.parent_span_id), []) + retrievals.get(
            (s.trace_id, b"child:" + s.span_id), []
        )
        event, issues = parse_event(body_for(s, attrs, rag), now=now)
        if event is None:
            rejected += 1
            if not first_error:
                field, issue = issues[0]
                first_error = f"span {s.name!r}: {field} {issue}"
            continue
        events.append(replace(event, source="otlp"))
    return Mapped(events, rejected, first_error)
