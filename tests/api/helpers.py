"""Shared steps for API tests: a valid monitor body, rows the workers would write."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from store.base import new_id
from store.db import Store
from store.models import CheckResult, Incident, Monitor
from store.rollups import add_to_rollups
from tests.api.conftest import Tenant

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# The fields of the reference's monitor create response.
REFERENCE_MONITOR_FIELDS = {
    "id",
    "name",
    "url",
    "type",
    "interval",
    "isActive",
    "method",
    "expectedStatus",
    "expectedKeyword",
    "timeout",
    "regions",
    "orgId",
    "createdAt",
    "updatedAt",
}
# What Vigil adds to every monitor (alerting and advanced settings).
VIGIL_MONITOR_FIELDS = {
    "config",
    "failureThreshold",
    "recoveryThreshold",
    "regionQuorum",
    "retryInterval",
    "alertChannels",
    "reminderInterval",
    "flapThreshold",
    "flapWindow",
    "confirmFromOtherRegion",
    "metricsLabels",
}


def monitor_body(**overrides: Any) -> dict[str, Any]:
    """A monitor every plan may create (its interval is FREE's minimum)."""
    body: dict[str, Any] = {
        "name": "Production API",
        "url": "https://api.example.com/health",
        "type": "HTTP",
        "interval": 300,
    }
    body.update(overrides)
    return body


async def create_monitor(client: httpx.AsyncClient, tenant: Tenant, **overrides: Any) -> str:
    """Create a monitor through the API; returns its id."""
    response = await client.post(
        "/api/monitors", headers=tenant.headers, json=monitor_body(**overrides)
    )
    assert response.status_code == 201, response.text
    monitor_id: str = response.json()["data"]["id"]
    return monitor_id


async def add_check(
    store: Store,
    monitor_id: str,
    *,
    checked_at: datetime,
    status: str = "UP",
    response_time_ms: int = 142,
    status_code: int | None = 200,
    region: str = "us-east-1",
) -> int:
    """Write a check result as a worker would; returns its row id."""
    async with store.transaction() as session:
        num = await session.scalar(select(Monitor.num).where(Monitor.id == monitor_id))
        row = CheckResult(
            monitor_num=num,
            region=region,
            status=status,
            checked_at=checked_at,
            response_time_ms=response_time_ms,
            status_code=status_code,
            total_ms=float(response_time_ms),
        )
        session.add(row)
        await session.flush()
        # The writer adds every result to the rollups in its transaction.
        columns = {c.name: getattr(row, c.name) for c in CheckResult.__table__.columns}
        await add_to_rollups(session, [columns], {row.monitor_num: monitor_id})
        return row.id


async def add_checks(store: Store, rows: list[dict[str, Any]]) -> None:
    """Write many check results (CheckResult fields, ``monitor_id`` for the monitor) in
    one transaction, as the writer does a batch, rollups included."""
    async with store.transaction() as session:
        ids = {row["monitor_id"] for row in rows}
        found = await session.execute(select(Monitor.num, Monitor.id).where(Monitor.id.in_(ids)))
        names = dict(found.all())
        nums = {monitor_id: num for num, monitor_id in names.items()}
        results = [
            CheckResult(
                monitor_num=nums[row["monitor_id"]],
                **{k: v for k, v in row.items() if k != "monitor_id"},
            )
            for row in rows
        ]
        session.add_all(results)
        await session.flush()
        columns = [
            {c.name: getattr(r, c.name) for c in CheckResult.__table__.columns} for r in results
        ]
        await add_to_rollups(session, columns, names)


async def add_incident(
    store: Store,
    *,
    org_id: str,
    monitor_id: str,
    started_at: datetime,
    resolved_at: datetime | None = None,
    cause: str = "Connection timeout",
) -> str:
    """Write an incident as the evaluator would; active when not resolved."""
    incident_id = new_id("inc")
    async with store.transaction() as session:
        session.add(
            Incident(
                id=incident_id,
                org_id=org_id,
                monitor_id=monitor_id,
                started_at=started_at,
                resolved_at=resolved_at,
                cause=cause,
                regions=["us-east-1"],
                is_active=resolved_at is None,
            )
        )
    return incident_id


def assert_error(
    response: httpx.Response, status: int, *, code: str, says: str = ""
) -> dict[str, Any]:
    """The error body every failure shares; ``says`` is part of the message a person reads."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert says.lower() in body["error"].lower()
    assert body["requestId"] == response.headers["X-Request-Id"]
    return body
