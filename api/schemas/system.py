"""Public system endpoints and heartbeat pings."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Out, Timestamp


class Health(Out):
    status: str = Field(examples=["ok"])


class WorkerRef(Out):
    id: str
    version: str
    healthy: bool = Field(True, description="False while its canary checks fail")
    canaryError: str | None = None
    unhealthySince: Timestamp | None = None


class Component(Out):
    name: str = Field(examples=["store"])
    status: str = Field(examples=["operational"])
    error: str | None = None
    workerCount: int | None = None
    lastSeenAt: Timestamp | None = None
    workers: list[WorkerRef] | None = None
    oldestDueAlertAt: Timestamp | None = None
    healthyWorkerCount: int | None = None
    failingChannels: int | None = None
    failingSince: Timestamp | None = None
    undeliveredAlerts: int | None = None


class SystemStatus(Out):
    status: str = Field(examples=["operational"])
    components: list[Component]


class Region(Out):
    region: str = Field(examples=["us-east-1"])
    workerCount: int
    healthyWorkerCount: int | None = None
    lastSeenAt: Timestamp | None


class PingAnswer(Out):
    ok: bool
    paused: bool | None = Field(None, description="Present (true) when the monitor is paused")
