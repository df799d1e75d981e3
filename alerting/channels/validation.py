"""Helpers the channels share to check a config and to hide its secrets.

A check returns ``(field, issue)`` pairs, the field named as the API client sent it
(``config.webhookUrl``), the issue saying what a valid value looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from alerting.channels.base import ChannelSpec, Delivery

# Re-exported: the channel modules mask through this module.
from alerting.redact import ELLIPSIS as ELLIPSIS
from alerting.redact import mask_secret as mask_secret
from alerting.redact import mask_url

Issues = list[tuple[str, str]]


def check_http_url(config: Mapping[str, Any], key: str) -> Issues:
    """``config[key]`` must be an absolute http(s) URL with a host."""
    value = config.get(key)
    field = f"config.{key}"
    if not isinstance(value, str) or not value.strip():
        return [(field, "is required: an http:// or https:// URL")]
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        return [(field, f"is not a valid URL ({exc})")]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            (field, "must be an http:// or https:// URL with a host, e.g. https://example.com/hook")
        ]
    return []


def check_token(config: Mapping[str, Any], key: str, *, what: str) -> Issues:
    """``config[key]`` must be a non-empty string without spaces."""
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        return [(f"config.{key}", f"is required: {what}")]
    if any(ch.isspace() for ch in value):
        return [(f"config.{key}", f"must not contain spaces: {what}")]
    return []


def mask_url_credentials(url: str) -> str:
    """Hide the password and every query value (a webhook URL's token often sits there)."""
    return mask_url(url, every_query_value=True)


def mask_url_path(url: str) -> str:
    """``https://hooks.slack.com/…abcd``: keep the host, hide the path that is the token."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ELLIPSIS
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}/{mask_secret(path) if path.strip('/') else ''}"


def misconfigured(channel: ChannelSpec, issues: Issues) -> Delivery:
    """A permanent failure naming what is wrong with the channel's config."""
    problems = "; ".join(f"{field} {issue}" for field, issue in issues)
    return Delivery(
        ok=False,
        permanent=True,
        error=f"channel {channel.name!r} is misconfigured: {problems}; edit the channel",
    )
