"""Validating maintenance window bodies: the rules the API and ``vigil apply`` share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import FieldIssue
from api.pagination import time_issue
from store.clock import iso_ms
from store.models import MaintenanceWindow, Monitor
from store.monitors import get_monitor

FIELDS = frozenset({"title", "description", "monitorId", "startsAt", "endsAt", "isActive"})
READ_ONLY = frozenset({"id", "monitorName", "inProgress", "createdAt"})
MAX_DESCRIPTION = 5000


def _time(body: Mapping[str, Any], field: str, issues: list[FieldIssue]) -> datetime | None:
    raw = body.get(field)
    if raw is None:
        issues.append((field, "is required: an ISO 8601 time such as 2025-06-20T02:00:00Z"))
        return None
    value, issue = time_issue(raw, example="2025-06-20T02:00:00Z")
    if issue is not None:
        issues.append((field, issue))
    return value


def _text_fields(
    body: Mapping[str, Any], issues: list[FieldIssue], *, creating: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if creating and body.get("title") is None:
        issues.append(("title", "is required"))
    elif "title" in body:
        title = body["title"]
        if not isinstance(title, str) or not title.strip():
            issues.append(("title", "must be a non-empty string"))
        elif len(title.strip()) > 200:
            issues.append(("title", "must be at most 200 characters"))
        else:
            values["title"] = title.strip()
    if "description" in body:
        description = body["description"]
        if description is not None and not isinstance(description, str):
            issues.append(("description", "must be a string or null"))
        elif description is not None and len(description) > MAX_DESCRIPTION:
            issues.append(("description", f"must be at most {MAX_DESCRIPTION} characters"))
        else:
            values["description"] = description or None
    if "isActive" in body:
        if not isinstance(body["isActive"], bool):
            issues.append(("isActive", "must be true or false"))
        else:
            values["is_active"] = body["isActive"]
    return values


async def _monitor(
    session: AsyncSession, org_id: str, body: Mapping[str, Any], issues: list[FieldIssue]
) -> tuple[bool, Monitor | None]:
    """(given, monitor): the monitor ``monitorId`` names in this org; None for org-wide."""
    if "monitorId" not in body or body["monitorId"] is None:
        return "monitorId" in body, None
    monitor_id = body["monitorId"]
    if not isinstance(monitor_id, str):
        issues.append(("monitorId", "must be a monitor id or null (org-wide)"))
        return False, None
    monitor = await get_monitor(session, org_id, monitor_id)
    if monitor is None:
        issues.append(("monitorId", f"has no monitor with id {monitor_id!r} in this organization"))
        return False, None
    return True, monitor


def _order(starts: datetime | None, ends: datetime | None, issues: list[FieldIssue]) -> None:
    if starts is not None and ends is not None and ends <= starts:
        issues.append(("endsAt", f"must be after startsAt ({iso_ms(starts)})"))


def _unknown(body: Mapping[str, Any]) -> list[FieldIssue]:
    extra = sorted(set(body) - FIELDS - READ_ONLY)
    return [(f, "is not a maintenance window field") for f in extra]


async def read_create(
    session: AsyncSession, org_id: str, body: Mapping[str, Any]
) -> tuple[dict[str, Any], Monitor | None, list[FieldIssue]]:
    """(column values, the window's monitor or None for org-wide, problems) of a create."""
    issues = _unknown(body)
    values = _text_fields(body, issues, creating=True)
    _, monitor = await _monitor(session, org_id, body, issues)
    starts, ends = _time(body, "startsAt", issues), _time(body, "endsAt", issues)
    _order(starts, ends, issues)
    values.update(monitor_id=monitor.id if monitor else None, starts_at=starts, ends_at=ends)
    return values, monitor, issues


async def read_update(
    session: AsyncSession,
    org_id: str,
    window: MaintenanceWindow,
    monitor: Monitor | None,
    body: Mapping[str, Any],
) -> tuple[dict[str, Any], Monitor | None, list[FieldIssue]]:
    """(column values, the window's monitor afterwards, problems) of an update.

    The time order is checked on the result: a body may move only one end.
    """
    issues = _unknown(body)
    values = _text_fields(body, issues, creating=False)
    monitor_given, new_monitor = await _monitor(session, org_id, body, issues)
    if monitor_given:
        values["monitor_id"] = new_monitor.id if new_monitor else None
        monitor = new_monitor
    starts = _time(body, "startsAt", issues) if "startsAt" in body else window.starts_at
    ends = _time(body, "endsAt", issues) if "endsAt" in body else window.ends_at
    _order(starts, ends, issues)
    values.update(starts_at=starts, ends_at=ends)
    return values, monitor, issues
