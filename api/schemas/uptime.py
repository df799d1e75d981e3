"""Uptime and SLA figures of one monitor, from the rollups."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.common import Out, Timestamp

Number = int | float
Percent = Number | None
DayStatus = Literal["DOWN", "DEGRADED", "UP", "MAINTENANCE", "NO_DATA"]
_PERCENT = "Truncated to 3 decimals, never rounded up to 100; null with no observed data"


class CheckCounts(Out):
    total: int = Field(examples=[1440])
    up: int
    degraded: int
    down: int


class UptimeDay(Out):
    date: str = Field(examples=["2026-03-01"], description="UTC day (YYYY-MM-DD)")
    uptime: Percent = Field(description="By time. " + _PERCENT, examples=[99.95])
    uptimeByChecks: Percent
    downtimeSeconds: int
    maintenanceSeconds: int
    noDataSeconds: int
    worstStatus: DayStatus
    incidents: int
    checks: int


class Uptime(Out):
    monitorId: str = Field(examples=["mon_abc123"])
    period: str = Field(examples=["30d"])
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    uptimeByTime: Percent = Field(description=_PERCENT, examples=[99.982])
    uptimeByChecks: Percent = Field(examples=[99.99])
    degradedPercent: Percent
    checks: CheckCounts
    downtimeSeconds: int
    maintenanceSeconds: int
    noDataSeconds: int
    observedSeconds: int
    incidents: int
    daily: list[UptimeDay] = Field(description="Oldest first")


class ErrorBudget(Out):
    """Minutes of observed time, truncated to 2 decimals (never rounded up)."""

    allowedMinutes: Number = Field(examples=[43.2])
    usedMinutes: Number = Field(examples=[12.5])
    remainingMinutes: Number = Field(examples=[30.7], description="Negative when overspent")


class SlaMonth(Out):
    month: str = Field(examples=["2026-03"])
    complete: bool = Field(description="False for the current (partial) month")
    uptime: Percent = Field(description="By time. " + _PERCENT)
    met: bool | None = Field(description="null: no observed time, no verdict")
    downtimeSeconds: int
    maintenanceSeconds: int
    noDataSeconds: int
    incidents: int
    errorBudget: ErrorBudget


class Sla(Out):
    monitorId: str = Field(examples=["mon_abc123"])
    target: Number = Field(examples=[99.9])
    months: list[SlaMonth] = Field(description="Oldest first; the current month last")
