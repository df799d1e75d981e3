"""``POST /v1/traces``: the real OpenTelemetry SDK exporter into a running Vigil."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from api.main import create_app
from store.clock import SystemClock
from store.config import Settings
from store.db import Store
from tests.api.conftest import Tenant
from tests.api.test_ai_ingest import create_llm, stored


@pytest.fixture
async def vigil(store: Store, settings: Settings) -> AsyncIterator[str]:
    """A Vigil API on a loopback port (real clock: span times are real)."""
    app = create_app(settings, store=store, clock=SystemClock())
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no started event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def record_spans(provider: TracerProvider) -> None:
    """A RAG chat (GenAI semconv), an OpenInference call, a failed call, noise, a bad span."""
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("answer question"):
        with tracer.start_as_current_span("retrieve") as r:
            r.set_attribute("openinference.span.kind", "RETRIEVER")
            r.set_attribute("retrieval.documents.0.document.score", 0.9)
            r.set_attribute("retrieval.documents.1.document.score", 0.7)
        with tracer.start_as_current_span("chat gpt-4o") as s:
            s.set_attribute("gen_ai.operation.name", "chat")
            s.set_attribute("gen_ai.provider.name", "openai")
            s.set_attribute("gen_ai.request.model", "gpt-4o")
            s.set_attribute("gen_ai.usage.input_tokens", 150)
            s.set_attribute("gen_ai.usage.output_tokens", 80)
            s.set_attribute("gen_ai.conversation.id", "conv-1")
    with tracer.start_as_current_span("ChatAnthropic") as s:
        s.set_attribute("openinference.span.kind", "LLM")
        s.set_attribute("llm.provider", "anthropic")
        s.set_attribute("llm.model_name", "claude-sonnet-4-20250514")
        s.set_attribute("llm.token_count.prompt", 1000)
        s.set_attribute("llm.token_count.completion", 50)
        s.set_attribute("llm.token_count.prompt_details.cache_read", 400)
    with tracer.start_as_current_span("chat failing") as s:
        s.set_attribute("gen_ai.operation.name", "chat")
        s.set_attribute("gen_ai.system", "openai")
        s.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        s.set_attribute("gen_ai.usage.input_tokens", 10)
        s.set_attribute("gen_ai.usage.output_tokens", 0)
        s.set_status(Status(StatusCode.ERROR, "429 rate limited"))
    with tracer.start_as_current_span("GET /health"):
        pass
    with tracer.start_as_current_span("chat broken") as s:
        s.set_attribute("gen_ai.operation.name", "chat")
        s.set_attribute("gen_ai.system", "openai")
        s.set_attribute("gen_ai.request.model", "gpt-4o")
        s.set_attribute("gen_ai.usage.input_tokens", -5)


async def _key(client: httpx.AsyncClient, tenant: Tenant) -> tuple[str, str]:
    monitor = await create_llm(client, tenant)
    r = await client.post(f"/api/monitors/{monitor['id']}/ingest-key", headers=tenant.headers)
    return monitor["id"], r.json()["data"]["ingestKey"]


def _check_events(rows: list[Any]) -> None:
    by_model = {e.model: e for e in rows}
    assert set(by_model) == {"gpt-4o", "claude-sonnet-4-20250514", "gpt-4o-mini"}
    chat = by_model["gpt-4o"]
    assert (chat.provider, chat.input_tokens, chat.output_tokens) == ("openai", 150, 80)
    assert chat.session_id == "conv-1" and chat.source == "otlp"
    assert chat.rag_docs == 2 and chat.rag_relevance == pytest.approx(0.8)
    assert chat.rag_retrieval_ms is not None and chat.cost_usd == pytest.approx(
        (150 * 2.5 + 80 * 10) / 1e6
    )
    oi = by_model["claude-sonnet-4-20250514"]
    assert (oi.provider, oi.input_tokens, oi.cache_read_tokens) == ("anthropic", 1000, 400)
    assert oi.rag_docs is None
    failed = by_model["gpt-4o-mini"]
    assert failed.error == "429 rate limited"


async def test_sdk_protobuf_export_with_gzip_becomes_events(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, vigil: str
) -> None:
    monitor_id, key = await _key(client, tenant)
    exporter = OTLPSpanExporter(
        endpoint=f"{vigil}/v1/traces",
        headers={"x-vigil-ingest-key": key},
        compression=Compression.Gzip,
    )
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "chatbot"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    record_spans(provider)
    spans = memory.get_finished_spans()
    # The SDK's own exporter, batch of every span, in a thread (it is synchronous).
    result = await asyncio.to_thread(exporter.export, spans)
    assert result == SpanExportResult.SUCCESS
    _check_events(await stored(store, monitor_id))


def _otlp_json(spans: tuple[ReadableSpan, ...]) -> bytes:
    """OTLP/JSON as the spec writes it: protobuf's JSON mapping with hex ids."""
    data = json_format.MessageToDict(encode_spans(spans))

    def hexify(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str):
                    node[k] = base64.b64decode(v).hex()
                else:
                    hexify(v)
        elif isinstance(node, list):
            for item in node:
                hexify(item)

    hexify(data)
    return json.dumps(data).encode()


async def test_json_export_with_gzip_and_partial_success(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, vigil: str
) -> None:
    monitor_id, key = await _key(client, tenant)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    record_spans(provider)
    body = gzip.compress(_otlp_json(memory.get_finished_spans()))
    async with httpx.AsyncClient(base_url=vigil) as http:
        r = await http.post(
            "/v1/traces",
            content=body,
            headers={
                "content-type": "application/json",
                "content-encoding": "gzip",
                "authorization": f"Bearer {key}",
            },
        )
        assert r.status_code == 200, r.text
        partial = r.json()["partialSuccess"]
        assert partial["rejectedSpans"] == "1"  # int64 is a string in protobuf's JSON
        assert "promptTokens" in partial["errorMessage"]
        _check_events(await stored(store, monitor_id))
        r = await http.post("/v1/traces", content=body, headers={"content-encoding": "gzip"})
        assert r.status_code == 401
        r = await http.post(
            "/v1/traces",
            content=b"not protobuf",
            headers={"x-vigil-ingest-key": key, "content-type": "application/x-protobuf"},
        )
        assert r.status_code == 400
