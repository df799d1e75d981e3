"""Page/limit parameters parsed with errors a person can read, and the pagination block."""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import WithJsonSchema

from api.errors import ApiError, FieldIssue, invalid
from api.openapi import EMPTY_IS_ABSENT

_INT = re.compile(r"-?[0-9]{1,19}", re.ASCII)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


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
    """A whole number in ASCII digits; ``int()`` alone takes '١٢', ' 5' and '1_000'."""
    if raw is None or raw == "":
        return default
    if not _INT.fullmatch(raw):
        issues.append((field, f"must be a whole number between {low} and {high}"))
        return default
    value = int(raw)
    if not low <= value <= high:
        issues.append((field, f"must be between {low} and {high}"))
    return value


# Read as text (our parsing and messages), documented as what they hold.
PageQuery = Annotated[
    str | None,
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 10**9, EMPTY_IS_ABSENT: True}),
    Query(description="Page number, from 1"),
]
LimitQuery = Annotated[
    str | None,
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 100, EMPTY_IS_ABSENT: True}),
    Query(description="Items per page, 1-100 (default 50)"),
]
# Free text, absent or a string: a query string has no null to document.
TextQuery = Annotated[str | None, WithJsonSchema({"type": "string"})]
# ISO 8601 as Python reads it (a date alone, no offset = UTC): wider than "date-time".
TimeQuery = Annotated[
    str | None,
    WithJsonSchema({"type": "string", "examples": ["2025-06-01T00:00:00Z"], EMPTY_IS_ABSENT: True}),
]


def page_params(page: PageQuery = None, limit: LimitQuery = None) -> Page:
    """The ``page`` and ``limit`` query parameters of a list endpoint."""
    issues: list[FieldIssue] = []
    p = parse_int(page, "page", default=1, low=1, high=10**9, issues=issues)
    n = parse_int(limit, "limit", default=50, low=1, high=100, issues=issues)
    if issues:
        raise invalid(issues)
    return Page(p, n)


NOT_A_TIME = "must be an ISO 8601 time"


def time_issue(raw: Any, *, example: str = "") -> tuple[datetime | None, str | None]:
    """(UTC time, None) for an ISO 8601 string in the supported range, else (None, issue).

    A time without zone is taken as UTC. Years outside ``EARLIEST``..``LATEST`` are
    refused: near year 1 or 9999 converting to UTC or adding an interval overflows.
    """
    not_a_time = NOT_A_TIME + (f" such as {example}" if example else "")
    if not isinstance(raw, str):
        return None, not_a_time
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None, not_a_time
    if not EARLIEST <= value < LATEST:
        return None, f"must be between {EARLIEST.date()} and {LATEST.date()} (exclusive)"
    return value, None


def parse_time(raw: str | None, field: str) -> datetime | None:
    """An ISO 8601 query parameter (None when absent); 400 naming ``field`` otherwise."""
    if raw is None or raw == "":
        return None
    # A '+' in a query string arrives as a space.
    value, issue = time_issue(raw.replace(" ", "+"))
    if issue == NOT_A_TIME:
        message = f"{field} must be an ISO 8601 time such as 2025-06-01T00:00:00Z"
        raise ApiError(400, message, fields=[(field, issue)])
    if issue is not None:
        raise ApiError(400, f"{field} {issue}", fields=[(field, issue)])
    return value


def encode_cursor(at: datetime, row_id: int) -> str:
    """An opaque cursor for keyset paging: the last row's time and id."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[datetime, int]:
    """The (time, id) of a cursor from ``encode_cursor``; 400 for anything else."""
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        at, _, row_id = text.partition("|")
        # ASCII digits within a 64-bit id: anything else is not a cursor we made.
        if not (row_id.isascii() and row_id.isdigit() and int(row_id) < 2**63):
            raise ValueError(row_id)
        return datetime.fromisoformat(at).astimezone(UTC), int(row_id)
    except (ValueError, OverflowError, UnicodeDecodeError):
        raise invalid([("cursor", "is not a cursor this API returned")]) from None
