"""Validating alert channel bodies: the rules ``/api/alert-channels`` and ``vigil apply`` share.

A config is checked by its channel type's own rules (``alerting.channels.registry``).
An update that sends back a masked secret unchanged keeps the stored one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alerting.channels.registry import mask_config, validate_config
from api.errors import FieldIssue
from store.models import AlertChannel

TYPES = ("EMAIL", "SLACK", "WEBHOOK", "PAGERDUTY", "APPRISE")
READ_ONLY = frozenset({"id", "orgId", "createdAt", "updatedAt"})
CREATE_FIELDS = frozenset({"name", "type", "config", "enabled", "isActive"})
UPDATE_FIELDS = frozenset({"name", "config", "enabled", "isActive", "type"})


@dataclass(frozen=True)
class NewChannel:
    name: str
    type: str
    config: dict[str, Any]
    is_active: bool


def _unknown(body: Mapping[str, Any], allowed: frozenset[str]) -> list[FieldIssue]:
    return [(f, "is not an alert channel field") for f in sorted(set(body) - allowed - READ_ONLY)]


def _name(body: Mapping[str, Any], issues: list[FieldIssue], *, required: bool) -> str | None:
    if "name" not in body and not required:
        return None
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        issues.append(("name", "is required" if name is None else "must be a non-empty string"))
        return None
    if len(name.strip()) > 100:
        issues.append(("name", "must be at most 100 characters"))
        return None
    return name.strip()


def _enabled(body: Mapping[str, Any], issues: list[FieldIssue]) -> bool | None:
    """``enabled`` (the reference's create field) or ``isActive`` (the response's name)."""
    given = {f: body[f] for f in ("enabled", "isActive") if f in body}
    for field, value in given.items():
        if not isinstance(value, bool):
            issues.append((field, "must be true or false"))
            return None
    if len(set(given.values())) > 1:
        issues.append(("isActive", "contradicts enabled; send one of them"))
        return None
    return next(iter(given.values()), None)


def _config(
    channel_type: str, body: Mapping[str, Any], issues: list[FieldIssue]
) -> dict[str, Any] | None:
    config = body.get("config")
    if not isinstance(config, dict):
        issues.append(("config", "is required" if config is None else "must be a JSON object"))
        return None
    problems = validate_config(channel_type, config)
    issues.extend(problems)
    return None if problems else config


def read_create(body: Mapping[str, Any]) -> tuple[NewChannel | None, list[FieldIssue]]:
    """The channel a create body describes, or None with every problem found."""
    issues = _unknown(body, CREATE_FIELDS)
    name = _name(body, issues, required=True)
    channel_type = body.get("type")
    config: dict[str, Any] | None = None
    if channel_type not in TYPES:
        issues.append(
            (
                "type",
                ("is required: " if channel_type is None else "must be ")
                + "one of "
                + ", ".join(TYPES),
            )
        )
    else:
        config = _config(str(channel_type), body, issues)
    enabled = _enabled(body, issues)
    if issues or name is None or config is None:
        return None, issues
    active = True if enabled is None else enabled
    return NewChannel(name=name, type=str(channel_type), config=config, is_active=active), []


def keep_masked_secrets(
    channel_type: str, stored: Mapping[str, Any], sent: dict[str, Any]
) -> dict[str, Any]:
    """Where ``sent`` repeats the masked form of a stored value, use the stored value."""
    shown = mask_config(channel_type, stored)
    return {
        key: stored[key] if key in stored and shown.get(key) == value else value
        for key, value in sent.items()
    }


def read_update(
    body: Mapping[str, Any], channel: AlertChannel
) -> tuple[dict[str, Any], list[FieldIssue]]:
    """The columns an update changes (``name``, ``config``, ``is_active``), and its problems."""
    issues = _unknown(body, UPDATE_FIELDS)
    if "type" in body and body["type"] != channel.type:
        issues.append(("type", "cannot be changed; create a new channel of the other type"))
    values: dict[str, Any] = {}
    name = _name(body, issues, required=False)
    if name is not None:
        values["name"] = name
    if "config" in body:
        sent = body["config"]
        if isinstance(sent, dict):
            sent = keep_masked_secrets(channel.type, channel.config, sent)
        config = _config(channel.type, {"config": sent}, issues)
        if config is not None:
            values["config"] = config
    enabled = _enabled(body, issues)
    if enabled is not None:
        values["is_active"] = enabled
    return values, issues
