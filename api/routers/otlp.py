"""``POST /v1/traces``: OTLP/HTTP trace exports (protobuf or JSON, optionally gzip).

Authenticated by an LLM monitor's ingest key, sent as ``X-Vigil-Ingest-Key`` (or
``Authorization: Bearer <key>``), which is what ``OTEL_EXPORTER_OTLP_HEADERS``
sends. GenAI spans become the monitor's AI events (``ai.otlp``); the answer is
OTLP's ``ExportTraceServiceResponse``, with ``partial_success`` naming how many
spans were refused and why.
"""

from __future__ import annotations

import zlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from ai.ingest import INGEST_KEY_HEADER, Accepted, hash_key
from ai.otlp import OtlpError, map_request, parse_request, response_bytes
from api.errors import ApiError
from api.routers.ai_ingest import writer_for
from api.schemas.common import written_errors
from store.ai_models import AiSettings
from store.models import Monitor

router = APIRouter(tags=["ai"])
MAX_OTLP_BYTES = 8 * 1024 * 1024


def _key(request: Request) -> str | None:
    key = request.headers.get(INGEST_KEY_HEADER)
    if key:
        return key.strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _decompress(raw: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise ApiError(415, f"Content-Encoding {encoding!r} is not supported; use gzip or none")
    try:
        out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, MAX_OTLP_BYTES + 1)
    except zlib.error as exc:
        raise ApiError(400, f"The gzip body is corrupt: {exc}") from None
    if len(out) > MAX_OTLP_BYTES:
        raise ApiError(413, f"The export is larger than {MAX_OTLP_BYTES} bytes uncompressed")
    return out


_PROTOBUF = {"schema": {"type": "string", "format": "binary"}}
_OTLP_JSON = {"schema": {"type": "object", "description": "OTLP/JSON"}}


@router.post(
    "/v1/traces",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "An ExportTraceServiceRequest; Content-Encoding gzip is taken",
            "content": {"application/x-protobuf": _PROTOBUF, "application/json": _OTLP_JSON},
        },
        "parameters": [
            {
                "name": "X-Vigil-Ingest-Key",
                "in": "header",
                "required": False,
                "description": "An LLM monitor's ingest key (or Authorization: Bearer <key>)",
                "schema": {"type": "string"},
            }
        ],
    },
    responses={
        200: {
            "description": "ExportTraceServiceResponse; partial_success counts refused spans",
            "content": {"application/x-protobuf": _PROTOBUF, "application/json": _OTLP_JSON},
        },
        **written_errors(400, 401, 408, 413, 415, 422, 429, 500, 503),
    },
)
async def traces(request: Request) -> Any:
    """Accept an OTLP trace export; GenAI spans become AI events of the key's monitor."""
    key = _key(request)
    if key is None:
        raise ApiError(401, "Send the LLM monitor's ingest key in the X-Vigil-Ingest-Key header")
    store = request.app.state.store
    async with store.transaction() as session:
        monitor_id = await session.scalar(
            select(Monitor.id)
            .join(AiSettings, AiSettings.monitor_id == Monitor.id)
            .where(
                AiSettings.ingest_key_hash == hash_key(key),
                Monitor.type == "LLM",
                Monitor.is_active.is_(True),
            )
        )
    if monitor_id is None:
        raise ApiError(401, "Unknown ingest key: create one with POST /api/monitors/:id/ingest-key")
    content_type = request.headers.get("content-type", "application/x-protobuf")
    json_body = "json" in content_type
    if not json_body and "protobuf" not in content_type:
        raise ApiError(
            415, "Content-Type must be application/x-protobuf or application/json (OTLP/HTTP)"
        )
    raw = await request.body()
    if len(raw) > MAX_OTLP_BYTES:
        raise ApiError(413, f"The export is larger than {MAX_OTLP_BYTES} bytes")
    body = _decompress(raw, request.headers.get("content-encoding", "").lower())
    try:
        export = parse_request(body, json_body=json_body)
    except OtlpError as exc:
        raise ApiError(400, str(exc)) from None
    mapped = map_request(export, now=request.app.state.clock.now())
    rejected, message = mapped.rejected, mapped.first_error
    if mapped.events:
        outcomes = await writer_for(request.app).submit_many(monitor_id, mapped.events, key=key)
        refused = [o for o in outcomes if not isinstance(o, Accepted)]
        if refused:
            rejected += len(refused)
            message = message or refused[0].message
    media = "application/json" if json_body else "application/x-protobuf"
    return Response(response_bytes(rejected, message, json_body=json_body), media_type=media)
