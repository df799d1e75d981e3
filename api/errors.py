"""Error bodies: the reference's ``{"error": ...}`` plus ``code``, ``fields``, ``requestId``."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from alerting.redact import mask_secret

log = logging.getLogger("vigil.api")

CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

FieldIssue = tuple[str, str]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_control(text: str) -> str:
    """``text`` with control characters written as ``\\xNN`` escapes, for one log line."""
    return _CONTROL.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", text
    )


_HEARTBEAT_TOKEN = re.compile(r"^(/api/heartbeat/)([^/]+)")


def loggable_path(path: str) -> str:
    """The path as a log line may show it: control characters escaped (a decoded
    ``%0a`` must not start a forged line) and heartbeat tokens masked."""
    return escape_control(
        _HEARTBEAT_TOKEN.sub(lambda m: m.group(1) + mask_secret(m.group(2)), path)
    )


class ApiError(Exception):
    """An error answered to the client as it is."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: Sequence[FieldIssue] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        lines: Sequence[int | None] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.fields = list(fields)
        # Beside each field: the line of the submitted document it is on (config apply).
        self.lines = list(lines)
        self.headers = headers or {}
        # Figures beside the error (the AI ingest's daily counters on a 429).
        self.extra = extra or {}


def not_found(resource: str, *, label: str | None = None) -> ApiError:
    """404 for a resource that does not exist or belongs to another organization."""
    label = label or resource.replace("_", " ").capitalize()
    return ApiError(404, f"{label} not found", code=f"{resource}_not_found")


def invalid(fields: Sequence[FieldIssue]) -> ApiError:
    """400 naming every bad field; the message is the first issue as a sentence."""
    field, issue = fields[0]
    return ApiError(400, f"{field} {issue}", fields=fields)


def request_id(request: Request) -> str:
    rid: str = getattr(request.state, "request_id", "")
    return rid


def error_response(request: Request, err: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"error": err.message, "code": err.code}
    if err.fields:
        body["fields"] = [{"field": f, "issue": i} for f, i in err.fields]
        for entry, line in zip(body["fields"], err.lines, strict=False):
            if line is not None:
                entry["line"] = line
    body.update(err.extra)
    body["requestId"] = request_id(request)
    return JSONResponse(body, status_code=err.status, headers=err.headers)


def _validation_issue(err: dict[str, Any]) -> FieldIssue:
    loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body", "header")]
    return (".".join(loc) or "request", str(err.get("msg", "is invalid")).lower())


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for the path this URL names.

    Routes each have their own methods, so they are united; but as in OpenAPI, a
    concrete path wins over a templated one: ``/api/team/accept`` is not also
    ``/api/team/{member_id}``, so its Allow header does not offer DELETE.
    """
    index: list[tuple[re.Pattern[str], int, set[str]]] | None = getattr(
        request.app.state, "methods_by_path", None
    )
    if index is None:
        index = [
            (_template(path), _literal_segments(path), {m.upper() for m in operations})
            for path, operations in request.app.openapi()["paths"].items()
        ]
        request.app.state.methods_by_path = index
    matches = [
        (rank, methods) for pattern, rank, methods in index if pattern.fullmatch(request.url.path)
    ]
    best = max((rank for rank, _ in matches), default=0)
    return sorted({m for rank, methods in matches if rank == best for m in methods})


def _literal_segments(path: str) -> int:
    return sum(1 for part in path.split("/") if part and "{" not in part)


def _template(path: str) -> re.Pattern[str]:
    """``/api/monitors/{monitor_id}`` -> a pattern matching ``/api/monitors/mon_1``."""
    parts = re.split(r"\{[^/{}]+\}", path)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the error body."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, invalid([_validation_issue(e) for e in exc.errors()]))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "Not found: no such endpoint", 405: "Method not allowed"}.get(
            exc.status_code, str(exc.detail)
        )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route on the path; list them all.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        # The conventions' <resource>_not_found: here the resource is the endpoint.
        code = "endpoint_not_found" if exc.status_code == 404 else None
        return error_response(
            request, ApiError(exc.status_code, message, code=code, headers=headers)
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        # Nobody is left to answer, and nothing went wrong on our side: no traceback.
        log.info(
            "client disconnected before sending its body: %s %s [%s]",
            request.method,
            loggable_path(request.url.path),
            request_id(request),
        )
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id(request)
        path = loggable_path(request.url.path)
        log.exception("unhandled error in %s %s [%s]", request.method, path, rid)
        message = f"Internal error; report request id {rid} to your administrator"
        # This handler answers outside RequestContextMiddleware, which would add the id.
        return error_response(request, ApiError(500, message, headers={"X-Request-Id": rid}))
