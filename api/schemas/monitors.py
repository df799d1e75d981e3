"""Monitors, their check results, incidents and performance figures."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from alerting import flapping
from alerting.evaluator import MAX_THRESHOLD
from api.schemas.common import In, Omit, Out, Timestamp
from store.plans import MAX_INTERVAL_S

MonitorType = Literal["HTTP", "TCP", "PING", "DNS", "SSL", "HEARTBEAT", "BROWSER", "LLM"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
Number = int | float

_CONFIG = (
    "Advanced settings by type (HTTP: method, headers, body, assertions; see docs/configuration.md)"
)
_EXAMPLE_CONFIG = {
    "method": "POST",
    "headers": {"Authorization": "Bearer token"},
    "body": '{"key": "value"}',
    "assertions": [
        {"type": "status_code", "operator": "equals", "value": "200"},
        {"type": "response_time", "operator": "less_than", "value": "500"},
        {"type": "json_path", "path": "$.data.status", "operator": "equals", "value": "ok"},
        {"type": "header", "name": "content-type", "operator": "contains", "value": "json"},
    ],
}


class MonitorFields(In):
    """Every writable monitor field; a create needs ``name``, ``type`` and (but for
    HEARTBEAT) ``url``. Rules across fields (timeout within interval, the plan's
    minimum interval, quorum within regions, the URL form of each type) answer 400."""

    name: (
        Annotated[str, Field(min_length=1, max_length=100, examples=["Production API"])] | Omit
    ) = None
    url: str | None = Field(None, max_length=2048, examples=["https://api.example.com/health"])
    type: MonitorType | Omit = None
    interval: Annotated[int, Field(ge=15, le=MAX_INTERVAL_S, examples=[60])] | Omit = None
    method: Method | Omit = None
    expectedStatus: int | None = Field(None, ge=100, le=599, examples=[200])
    expectedKeyword: str | None = Field(None, max_length=500)
    timeout: Annotated[int, Field(ge=1, le=60, examples=[10])] | Omit = None
    regions: Annotated[list[str], Field(min_length=1, examples=[["us-east-1"]])] | Omit = None
    config: (
        Annotated[dict[str, Any], Field(description=_CONFIG, examples=[_EXAMPLE_CONFIG])] | Omit
    ) = None
    isActive: bool | Omit = None
    failureThreshold: Annotated[int, Field(ge=1, le=MAX_THRESHOLD)] | Omit = None
    recoveryThreshold: Annotated[int, Field(ge=1, le=MAX_THRESHOLD)] | Omit = None
    regionQuorum: Annotated[int, Field(ge=1)] | Omit = None
    retryInterval: int | None = Field(None, ge=10, le=MAX_INTERVAL_S)
    alertChannels: list[str] | None = Field(None, description="Channel ids; null = all")
    reminderInterval: int | None = Field(None, ge=1, le=10080, description="Minutes")
    flapThreshold: int | None = Field(
        None,
        ge=2,
        le=flapping.MAX_THRESHOLD,
        description="State changes in flapWindow past which it is FLAPPING; null = default",
    )
    flapWindow: int | None = Field(
        None, ge=60, le=flapping.MAX_WINDOW_S, description="Seconds; null = default"
    )
    confirmFromOtherRegion: bool | Omit = Field(
        None, description="Re-check from another region before opening an incident"
    )
    metricsLabels: bool | Omit = Field(
        None, description="Expose Prometheus series labelled with this monitor's id"
    )

    model_config = {
        "json_schema_extra": {"examples": [{"name": "Production API (Updated)", "interval": 30}]}
    }


class MonitorCreate(MonitorFields):
    name: str = Field(min_length=1, max_length=100, examples=["Production API"])
    type: MonitorType = Field(examples=["HTTP"])

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Production API",
                    "url": "https://api.example.com/health",
                    "type": "HTTP",
                    "interval": 60,
                    "method": "GET",
                    "expectedStatus": 200,
                    "timeout": 10,
                    "regions": ["us-east-1"],
                }
            ]
        }
    }


class LastCheck(Out):
    status: str = Field(examples=["UP"])
    responseTime: Number | None = Field(examples=[142])
    checkedAt: Timestamp | None


class Timings(Out):
    dns: Number | None
    tcp: Number | None
    tls: Number | None
    ttfb: Number | None
    download: Number | None
    total: Number | None


class Check(Out):
    id: str = Field(examples=["chk_001"])
    monitorId: str
    status: str = Field(examples=["UP"])
    responseTime: Number | None = Field(examples=[142])
    statusCode: int | None = Field(examples=[200])
    region: str = Field(examples=["us-east-1"])
    checkedAt: Timestamp | None
    timings: Timings
    size: int | None
    error: str | None
    details: dict[str, Any]


class Incident(Out):
    id: str = Field(examples=["inc_001"])
    monitorId: str
    startedAt: Timestamp | None
    resolvedAt: Timestamp | None
    duration: int | None = Field(description="Seconds, once resolved", examples=[900])
    cause: str | None = Field(examples=["Connection timeout"])
    isActive: bool
    regions: list[str]
    inMaintenance: bool
    flapping: bool = Field(False, description="Opened while the monitor was FLAPPING (not paged)")
    monitorName: str | None = None
    monitorUrl: str | None = None


class Monitor(Out):
    id: str = Field(examples=["mon_abc123"])
    name: str
    url: str
    type: MonitorType
    interval: int
    isActive: bool
    method: str
    expectedStatus: int | None
    expectedKeyword: str | None
    timeout: int
    regions: list[str]
    config: dict[str, Any]
    failureThreshold: int
    recoveryThreshold: int
    regionQuorum: int
    retryInterval: int | None
    alertChannels: list[str] | None
    reminderInterval: int | None
    flapThreshold: int | None = None
    flapWindow: int | None = None
    confirmFromOtherRegion: bool = False
    metricsLabels: bool = False
    orgId: str
    createdAt: Timestamp | None
    updatedAt: Timestamp | None
    heartbeatToken: str | None = Field(None, description="HEARTBEAT monitors only")
    heartbeatUrl: str | None = Field(None, description="HEARTBEAT monitors only")
    ingestUrl: str | None = Field(None, description="LLM monitors only: where events are sent")
    lastCheck: LastCheck | None = None
    checks: list[Check] | None = Field(None, description="The last 50 (single monitor)")
    incidents: list[Incident] | None = Field(None, description="The 10 latest (single monitor)")


class MonitorWithMessage(Out):
    data: Monitor
    message: str = Field(examples=["Monitor paused"])


class PhaseFigures(Out):
    dns: Number | None
    tcp: Number | None
    tls: Number | None
    ttfb: Number | None
    download: Number | None
    total: Number | None


class SizedFigures(PhaseFigures):
    size: int | None


class PerformancePoint(SizedFigures):
    timestamp: Timestamp | None


class Performance(Out):
    averages: SizedFigures
    p95: PhaseFigures
    timeSeries: list[PerformancePoint]
    sampleCount: int
