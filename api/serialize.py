"""Rows -> the reference's JSON shapes (camelCase, ISO 8601 UTC with milliseconds)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from alerting.redact import mask_headers, mask_secret, mask_url
from store.clock import iso_ms
from store.keys import mask
from store.models import ApiKey, CheckResult, Incident, Monitor, Organization

iso = iso_ms


def check_id(row_id: int) -> str:
    return f"chk_{row_id}"


def parse_check_id(value: str) -> int | None:
    """The row id in ``chk_<digits>``; None when ``value`` is no check id this API issues."""
    prefix, _, digits = value.partition("_")
    if prefix != "chk" or not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        return None  # 18 digits always fit the 64-bit id column
    return int(digits)


def monitor_json(
    m: Monitor, *, base_url: str, can_write: bool = False, masked: bool = True
) -> dict[str, Any]:
    """The monitor as the reference shows it, its secrets masked.

    URL credentials and header values are masked (``masked=False`` only for the
    update path's own comparisons, never for a response). The heartbeat token
    lets anyone who has it ping, so only keys that may write see it.
    """
    config = m.config
    if masked and isinstance(config.get("headers"), dict):
        config = {**config, "headers": mask_headers(config["headers"])}
    data: dict[str, Any] = {
        "id": m.id,
        "name": m.name,
        "url": mask_url(m.url) if masked else m.url,
        "type": m.type,
        "interval": m.interval_s,
        "isActive": m.is_active,
        "method": m.method,
        "expectedStatus": m.expected_status,
        "expectedKeyword": m.expected_keyword,
        "timeout": m.timeout_s,
        "regions": list(m.regions),
        "config": config,
        "failureThreshold": m.failure_threshold,
        "recoveryThreshold": m.recovery_threshold,
        "regionQuorum": m.region_quorum,
        "retryInterval": m.retry_interval_s,
        "alertChannels": m.alert_channels,
        "reminderInterval": m.reminder_interval_min,
        "flapThreshold": m.flap_threshold,
        "flapWindow": m.flap_window_s,
        "confirmFromOtherRegion": m.confirm_other_region,
        "metricsLabels": m.metrics_labels,
        "orgId": m.org_id,
        "createdAt": iso(m.created_at),
        "updatedAt": iso(m.updated_at),
    }
    if m.type == "HEARTBEAT" and m.heartbeat_token and (can_write or not masked):
        data["heartbeatToken"] = m.heartbeat_token
        data["heartbeatUrl"] = f"{base_url}/api/heartbeat/{m.heartbeat_token}"
    if m.type == "LLM":
        data["ingestUrl"] = f"{base_url}/api/ai/ingest/{m.id}"
    return data


def keep_masked_secrets(body: Any, stored: Mapping[str, Any]) -> Any:
    """``body`` with masked values sent back unchanged replaced by the stored ones.

    A client that read a monitor and sends it back edits it without re-entering
    its URL password or header values (as with alert channel secrets).
    """
    if not isinstance(body, dict):
        return body
    out = dict(body)
    if isinstance(out.get("url"), str) and out["url"] == mask_url(stored["url"]) != stored["url"]:
        out["url"] = stored["url"]
    config, stored_headers = out.get("config"), stored["config"].get("headers")
    if isinstance(config, dict) and isinstance(config.get("headers"), dict) and stored_headers:
        by_name = {str(k).lower(): v for k, v in stored_headers.items() if isinstance(v, str)}
        headers = {}
        for name, value in config["headers"].items():
            kept = by_name.get(str(name).lower())
            same = isinstance(value, str) and kept is not None and value == mask_secret(kept)
            headers[name] = kept if same else value
        out["config"] = {**config, "headers": headers}
    return out


def timings_json(c: CheckResult) -> dict[str, float | None]:
    return {
        "dns": c.dns_ms,
        "tcp": c.tcp_ms,
        "tls": c.tls_ms,
        "ttfb": c.ttfb_ms,
        "download": c.download_ms,
        "total": c.total_ms,
    }


def check_json(c: CheckResult, monitor_id: str) -> dict[str, Any]:
    """One raw result of the monitor ``monitor_id`` (rows name it by number only)."""
    return {
        "id": check_id(c.id),
        "monitorId": monitor_id,
        "status": c.status,
        "responseTime": c.response_time_ms,
        "statusCode": c.status_code,
        "region": c.region,
        "checkedAt": iso(c.checked_at),
        "timings": timings_json(c),
        "size": c.size_bytes,
        "error": c.error,
        "details": details_json(c),
    }


def details_json(c: CheckResult) -> dict[str, Any]:
    """The stored details; a plain UP row stores none, its slot and lateness are derived."""
    details = dict(c.details or {})
    if c.lateness_ms is not None and "latenessMs" not in details:
        details["latenessMs"] = float(c.lateness_ms)
        details["scheduledAt"] = iso(c.checked_at - timedelta(milliseconds=c.lateness_ms))
    return details


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
        "flapping": i.flapping,
    }
    if m is not None:
        data["monitorName"] = m.name
        data["monitorUrl"] = mask_url(m.url)
    return data


def org_json(o: Organization) -> dict[str, Any]:
    return {
        "id": o.id,
        "name": o.name,
        "slug": o.slug,
        "plan": o.plan,
        # Read-only: whether its monitors and channels may reach internal addresses.
        "trusted": o.trusted,
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
