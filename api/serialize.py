"""Rows -> the reference's JSON shapes (camelCase, ISO 8601 UTC with milliseconds)."""

from __future__ import annotations

from typing import Any

from store.clock import iso_ms
from store.keys import mask
from store.models import ApiKey, CheckResult, Incident, Monitor, Organization

iso = iso_ms


def check_id(row_id: int) -> str:
    return f"chk_{row_id}"


def parse_check_id(value: str) -> int | None:
    prefix, _, digits = value.partition("_")
    return int(digits) if prefix == "chk" and digits.isdigit() else None


def monitor_json(m: Monitor, *, base_url: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": m.id,
        "name": m.name,
        "url": m.url,
        "type": m.type,
        "interval": m.interval_s,
        "isActive": m.is_active,
        "method": m.method,
        "expectedStatus": m.expected_status,
        "expectedKeyword": m.expected_keyword,
        "timeout": m.timeout_s,
        "regions": list(m.regions),
        "config": m.config,
        "failureThreshold": m.failure_threshold,
        "recoveryThreshold": m.recovery_threshold,
        "regionQuorum": m.region_quorum,
        "retryInterval": m.retry_interval_s,
        "alertChannels": m.alert_channels,
        "reminderInterval": m.reminder_interval_min,
        "orgId": m.org_id,
        "createdAt": iso(m.created_at),
        "updatedAt": iso(m.updated_at),
    }
    if m.type == "HEARTBEAT" and m.heartbeat_token:
        data["heartbeatToken"] = m.heartbeat_token
        data["heartbeatUrl"] = f"{base_url}/api/heartbeat/{m.heartbeat_token}"
    return data


def timings_json(c: CheckResult) -> dict[str, float | None]:
    return {
        "dns": c.dns_ms,
        "tcp": c.tcp_ms,
        "tls": c.tls_ms,
        "ttfb": c.ttfb_ms,
        "download": c.download_ms,
        "total": c.total_ms,
    }


def check_json(c: CheckResult) -> dict[str, Any]:
    return {
        "id": check_id(c.id),
        "monitorId": c.monitor_id,
        "status": c.status,
        "responseTime": c.response_time_ms,
        "statusCode": c.status_code,
        "region": c.region,
        "checkedAt": iso(c.checked_at),
        "timings": timings_json(c),
        "size": c.size_bytes,
        "error": c.error,
        "details": c.details or {},
    }


def last_check_json(c: CheckResult | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"status": c.status, "responseTime": c.response_time_ms, "checkedAt": iso(c.checked_at)}


def incident_json(i: Incident, m: Monitor | None = None) -> dict[str, Any]:
    end = i.resolved_at
    data: dict[str, Any] = {
        "id": i.id,
        "monitorId": i.monitor_id,
        "startedAt": iso(i.started_at),
        "resolvedAt": iso(end),
        "duration": int((end - i.started_at).total_seconds()) if end else None,
        "cause": i.cause,
        "isActive": i.is_active,
        "regions": list(i.regions),
        "inMaintenance": i.in_maintenance,
    }
    if m is not None:
        data["monitorName"] = m.name
        data["monitorUrl"] = m.url
    return data


def org_json(o: Organization) -> dict[str, Any]:
    return {
        "id": o.id,
        "name": o.name,
        "slug": o.slug,
        "plan": o.plan,
        "createdAt": iso(o.created_at),
    }


def key_json(k: ApiKey, *, plaintext: str | None = None) -> dict[str, Any]:
    return {
        "id": k.id,
        "name": k.name,
        "key": plaintext or mask(k.prefix, k.last4),
        "readOnly": k.read_only,
        "lastUsed": iso(k.last_used_at),
        "createdAt": iso(k.created_at),
        "expiresAt": iso(k.expires_at),
    }
