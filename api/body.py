"""Reading JSON request bodies with an error a person can act on."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from api.errors import ApiError

MAX_BODY = 1_000_000


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"Request body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        raise ApiError(
            400,
            "Request body is empty; send a JSON object",
            fields=[("body", "is empty")],
        )
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(
            400, f"Request body is not valid JSON: {exc}", fields=[("body", "is not valid JSON")]
        ) from None


async def read_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(
            400, "Request body must be a JSON object", fields=[("body", "must be an object")]
        )
    return body
