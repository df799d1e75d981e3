"""Shapes every resource shares: the envelope, pagination, messages and the error body."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from api.openapi import EMPTY_IS_ABSENT

T = TypeVar("T")
# "| Omit" on an optional field: it may be left out, but null is not documented as valid.
Omit = SkipJsonSchema[None]

Timestamp = Annotated[
    str,
    Field(
        json_schema_extra={"format": "date-time"},
        examples=["2025-06-15T10:30:00.000Z"],
        description="ISO 8601, UTC, milliseconds",
    ),
]


def int_query(low: int, high: int) -> Any:
    """A query parameter documented as an integer but parsed by the handler.

    The handlers read it as text so that a bad value gets our error message
    (and so that only ASCII digits are taken); the document still says integer,
    and that an empty value is taken as absent.
    """
    return WithJsonSchema(
        {"type": "integer", "minimum": low, "maximum": high, EMPTY_IS_ABSENT: True}
    )


def one_of(values: Sequence[str], **extra: Any) -> Any:
    """A string documented as one of ``values``: the tuple the handler checks against.

    Handlers validate by hand (their own messages); the document takes its enum
    from the same tuple, so the two cannot drift apart.
    """
    return WithJsonSchema({"type": "string", "enum": list(values), **extra})


class Out(BaseModel):
    """A response shape: unknown fields are an error, so the document cannot drift."""

    model_config = ConfigDict(extra="forbid")


class In(BaseModel):
    """A request shape: fields outside it are refused as 400."""

    model_config = ConfigDict(extra="forbid")


class Data(Out, Generic[T]):
    data: T


class Pagination(Out):
    page: int = Field(examples=[1])
    limit: int = Field(examples=[50])
    total: int = Field(examples=[120])
    totalPages: int = Field(examples=[3])


class CursorPagination(Out):
    page: int | None = None
    limit: int
    total: int | None = None
    totalPages: int | None = None
    nextCursor: str | None = Field(None, description="Pass as ?cursor= for the next page")


class Paged(Out, Generic[T]):
    data: list[T]
    pagination: Pagination


class Message(Out):
    message: str = Field(examples=["Monitor deleted successfully"])


class FieldError(Out):
    field: str = Field(examples=["interval"])
    issue: str = Field(examples=["must be between 30 and 3600"])
    line: int | None = Field(
        None, description="The line of the submitted document (POST /api/config/apply)"
    )


class ErrorBody(Out):
    """Every error: the reference's ``error`` plus a code, the fields at fault, the request id."""

    error: str = Field(examples=["interval must be between 30 and 3600"])
    code: str = Field(examples=["invalid_request"])
    fields: list[FieldError] | None = None
    requestId: str = Field(examples=["req_3f2a9c0d1e4b5a6c"])


_MEANING = {
    400: "Invalid parameters or body; `fields` names each problem",
    401: "Missing, invalid, revoked or expired API key",
    403: "Plan limit reached or insufficient permissions",
    404: "The resource does not exist in this organization",
    408: "The request body did not arrive in time",
    409: "Conflict (a taken slug, an Idempotency-Key in flight)",
    413: "The request body is larger than 1 MB",
    415: "The request body's Content-Type or Content-Encoding is not supported",
    422: "An Idempotency-Key reused with a different request (create endpoints)",
    429: "Rate limit exceeded; see Retry-After",
    500: "Internal error; report the request id",
    501: "Not configured on this Vigil (billing without its RevenueCat settings)",
    503: "The store is unavailable",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses, all with the error body."""
    return {s: {"model": ErrorBody, "description": _MEANING[s]} for s in statuses}


# 422 is listed so that FastAPI does not add its own validation body (ours is 400).
PUBLIC_ERRORS = errors(400, 404, 408, 413, 422, 429, 500, 503)
API_ERRORS = errors(400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 503)


ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def written_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error body for routes whose own answers are not JSON.

    Written out: with a model, FastAPI would declare errors in the route's media type.
    """
    return {
        s: {"description": _MEANING[s], "content": {"application/json": {"schema": ERROR_REF}}}
        for s in statuses
    }


def text_answer(media_type: str, description: str) -> dict[str, Any]:
    """A ``responses`` entry for a document that is not JSON (HTML, Atom, SVG)."""
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match ETag is current"}
}
