"""HTTP and TCP monitor ``config``: what the API accepts and what a check reads from it.

``validate_config`` returns (field, issue) pairs for the API's error body;
``HttpOptions.from_monitor`` turns a valid config into the values a check uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from checks.assertions import validate_assertions
from checks.base import MonitorSpec
from checks.ssl import validate_config as ssl_config

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_MAX_REDIRECTS = 10
MAX_REDIRECTS_LIMIT = 20
MAX_BODY_CHARS = 100_000
MAX_TCP_TEXT_CHARS = 10_000


def validate_config(config: Mapping[str, Any], *, monitor_type: str) -> list[tuple[str, str]]:
    """Everything wrong with an HTTP or TCP monitor's config; other types get []."""
    if not isinstance(config, Mapping):
        return [("config", "must be an object")]
    if monitor_type == "HTTP":
        return _http_issues(config)
    if monitor_type == "TCP":
        return _tcp_issues(config)
    return []


def _http_issues(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []
    if "method" in config and config["method"] not in METHODS:
        issues.append(("config.method", "must be one of " + ", ".join(METHODS)))
    if "headers" in config:
        issues.extend(_header_issues(config["headers"]))
    body = config.get("body")
    if "body" in config and not isinstance(body, str):
        issues.append(("config.body", "must be a string (send JSON as text)"))
    elif isinstance(body, str) and len(body) > MAX_BODY_CHARS:
        issues.append(("config.body", f"must be at most {MAX_BODY_CHARS} characters"))
    if "assertions" in config:
        issues.extend(validate_assertions(config["assertions"]))
    if "warnDays" in config:
        # HTTPS monitors opting in to ssl.expiring alerts share the SSL check's rule.
        issues.extend(i for i in ssl_config({"warnDays": config["warnDays"]}))
    for flag in ("followRedirects", "verifyTls", "sslExpiryAlerts"):
        if flag in config and not isinstance(config[flag], bool):
            issues.append((f"config.{flag}", "must be true or false"))
    limit = config.get("maxRedirects")
    if "maxRedirects" in config and (
        isinstance(limit, bool)
        or not isinstance(limit, int)
        or not 0 <= limit <= MAX_REDIRECTS_LIMIT
    ):
        issues.append(
            ("config.maxRedirects", f"must be a whole number from 0 to {MAX_REDIRECTS_LIMIT}")
        )
    return issues


def _header_issues(headers: Any) -> list[tuple[str, str]]:
    if not isinstance(headers, Mapping):
        return [("config.headers", 'must be an object of name: value strings, like {"X-Key": "1"}')]
    issues = []
    for name, value in headers.items():
        if not isinstance(name, str) or not _is_token(name):
            issues.append((f"config.headers.{name}", "is not a valid header name"))
        elif not isinstance(value, str):
            issues.append((f"config.headers.{name}", "must be a string"))
        elif "\r" in value or "\n" in value:
            issues.append((f"config.headers.{name}", "must not contain line breaks"))
        elif not value.isascii():
            issues.append(
                (f"config.headers.{name}", "must be ASCII text (encode other characters)")
            )
    return issues


def _is_token(name: str) -> bool:
    allowed = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return bool(name) and set(name) <= allowed


def _tcp_issues(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    issues = []
    for key in ("send", "expect"):
        if key not in config:
            continue
        value = config[key]
        if not isinstance(value, str):
            issues.append((f"config.{key}", "must be a string"))
        elif len(value) > MAX_TCP_TEXT_CHARS:
            issues.append((f"config.{key}", f"must be at most {MAX_TCP_TEXT_CHARS} characters"))
    return issues


@dataclass(frozen=True)
class HttpOptions:
    """An HTTP monitor's request and checking options, defaults applied."""

    method: str
    headers: dict[str, str]
    body: str | None
    follow_redirects: bool
    max_redirects: int
    verify_tls: bool
    assertions: list[dict[str, Any]]

    @classmethod
    def from_monitor(cls, monitor: MonitorSpec) -> HttpOptions:
        """Options from a monitor whose config passed ``validate_config``."""
        config = monitor.config
        return cls(
            method=str(config.get("method") or monitor.method or "GET").upper(),
            headers=dict(config.get("headers") or {}),
            body=config.get("body"),
            follow_redirects=config.get("followRedirects", True),
            max_redirects=config.get("maxRedirects", DEFAULT_MAX_REDIRECTS),
            verify_tls=config.get("verifyTls", True),
            assertions=list(config.get("assertions") or []),
        )
