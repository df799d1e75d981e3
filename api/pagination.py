"""Page/limit parameters parsed with errors a person can read, and the pagination block."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Query

from api.errors import ApiError, FieldIssue, invalid


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def block(self, total: int) -> dict[str, Any]:
        return {
            "page": self.page,
            "limit": self.limit,
            "total": total,
            "totalPages": math.ceil(total / self.limit) if total else 0,
        }


def parse_int(
    raw: str | None, field: str, *, default: int, low: int, high: int, issues: list[FieldIssue]
) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        issues.append((field, f"must be a whole number between {low} and {high}"))
        return default
    if not low <= value <= high:
        issues.append((field, f"must be between {low} and {high}"))
    return value


def page_params(
    page: str | None = Query(None, description="Page number, from 1"),
    limit: str | None = Query(None, description="Items per page, 1-100 (default 50)"),
) -> Page:
    """The ``page`` and ``limit`` query parameters of a list endpoint."""
    issues: list[FieldIssue] = []
    p = parse_int(page, "page", default=1, low=1, high=10**9, issues=issues)
    n = parse_int(limit, "limit", default=50, low=1, high=100, issues=issues)
    if issues:
        raise invalid(issues)
    return Page(p, n)


def parse_time(raw: str | None, field: str) -> datetime | None:
    """An ISO 8601 query parameter; a time without zone is taken as UTC."""
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ApiError(
            400,
            f"{field} must be an ISO 8601 time such as 2025-06-01T00:00:00Z",
            fields=[(field, "must be an ISO 8601 time")],
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def encode_cursor(at: datetime, row_id: int) -> str:
    """An opaque cursor for keyset paging: the last row's time and id."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[datetime, int]:
    """The (time, id) of a cursor from ``encode_cursor``; 400 for anything else."""
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        at, _, row_id = text.partition("|")
        return datetime.fromisoformat(at).astimezone(UTC), int(row_id)
    except ValueError:
        raise invalid([("cursor", "is not a cursor this API returned")]) from None
