"""Validate monitor request bodies as the reference states; normalise them to columns."""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from alerting import flapping
from alerting.evaluator import MAX_THRESHOLD
from api.errors import FieldIssue
from checks.target_policy import TargetPolicy, parse_networks
from store.config import Settings
from store.models import Organization
from store.plans import MAX_INTERVAL_S, limits_for

TYPES = ("HTTP", "TCP", "PING", "DNS", "SSL", "HEARTBEAT", "BROWSER", "LLM")
# Types with no target: the monitored thing reports to Vigil.
NO_URL_TYPES = ("HEARTBEAT", "LLM")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
READ_ONLY_FIELDS = frozenset(
    {"id", "orgId", "createdAt", "updatedAt", "lastCheck", "checks", "incidents"}
    | {"heartbeatToken", "heartbeatUrl", "ingestUrl"}
)
# Field name in the API -> column name.
COLUMNS = {
    "name": "name",
    "url": "url",
    "type": "type",
    "interval": "interval_s",
    "isActive": "is_active",
    "method": "method",
    "expectedStatus": "expected_status",
    "expectedKeyword": "expected_keyword",
    "timeout": "timeout_s",
    "regions": "regions",
    "config": "config",
    "failureThreshold": "failure_threshold",
    "recoveryThreshold": "recovery_threshold",
    "regionQuorum": "region_quorum",
    "retryInterval": "retry_interval_s",
    "alertChannels": "alert_channels",
    "reminderInterval": "reminder_interval_min",
    "flapThreshold": "flap_threshold",
    "flapWindow": "flap_window_s",
    "confirmFromOtherRegion": "confirm_other_region",
    "metricsLabels": "metrics_labels",
}
# Whole-number fields: JSON clients may send 60.0 for 60 (JavaScript has one number type).
WHOLE_NUMBER_FIELDS = frozenset(
    {"interval", "timeout", "expectedStatus", "failureThreshold", "recoveryThreshold"}
    | {"regionQuorum", "retryInterval", "reminderInterval"}
)
_HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?)+$")

# Modules exposing validate_config(config) for a monitor type's ``config`` object.
CONFIG_VALIDATORS = {
    "HTTP": ("checks.http_config", "validate_config"),
    "TCP": ("checks.http_config", "validate_config"),
    "PING": ("checks.ping", "validate_config"),
    "DNS": ("checks.dns", "validate_config"),
    "SSL": ("checks.ssl", "validate_config"),
    "BROWSER": ("checks.browser_steps", "validate_config"),
    "HEARTBEAT": ("checks.heartbeat_config", "validate_config"),
    "LLM": ("ai.config", "validate_config"),
}


@dataclass(frozen=True)
class Context:
    """What validation needs to know about the caller and the deployment."""

    plan: str
    known_regions: tuple[str, ...]
    channel_ids: frozenset[str]
    # The organization's target policy: a URL naming an internal address it may not
    # reach is refused here already (a name is judged when the check connects).
    policy: TargetPolicy | None = None


def create_defaults(ctx: Context, monitor_type: Any) -> dict[str, Any]:
    """The values a new monitor takes for fields the request leaves out (API names)."""
    return {
        "interval": max(60, limits_for(ctx.plan).min_interval_s),
        "method": "GET",
        "timeout": 30,
        "regions": [ctx.known_regions[0]],
        "config": {},
        "isActive": True,
        # A missed heartbeat is already a confirmed failure: its deadline had grace.
        "failureThreshold": 1 if monitor_type == "HEARTBEAT" else 2,
        "recoveryThreshold": 1,
        "regionQuorum": 1,
    }


# What each field a create leaves out means, beside create_defaults: no value, or off.
# Every field of COLUMNS is in one of the two (tests/api/test_fleetconfig.py checks),
# so a declarative document (``vigil apply``) knows what leaving a field out means.
UNSET_DEFAULTS: dict[str, Any] = {
    "url": "",
    "expectedStatus": None,
    "expectedKeyword": None,
    "retryInterval": None,
    "alertChannels": None,
    "reminderInterval": None,
    "flapThreshold": None,
    "flapWindow": None,
    "confirmFromOtherRegion": False,
    "metricsLabels": False,
}


def with_create_defaults(values: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Validated column values of a new monitor, completed with the defaults."""
    defaults = create_defaults(ctx, values.get("type"))
    out: dict[str, Any] = {COLUMNS[k]: v for k, v in defaults.items()}
    out["url"] = ""
    out.update({k: v for k, v in values.items() if v is not None or k not in out})
    if "timeout_s" not in values:
        # The default timeout never exceeds a short interval the client chose.
        out["timeout_s"] = min(out["timeout_s"], out["interval_s"])
    return out


def whole(field: str, value: Any) -> Any:
    """``60.0`` -> ``60`` for whole-number fields; anything else as it is."""
    if field in WHOLE_NUMBER_FIELDS and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def plan_refusal(plan: str, monitor_type: Any) -> str | None:
    """Why the plan does not allow a monitor of this type (a 403), or None."""
    if monitor_type == "BROWSER" and not limits_for(plan).browser_allowed:
        return (
            f"BROWSER monitors need the BUSINESS or ENTERPRISE plan; this organization is on {plan}"
        )
    return None


def limit_refusal(plan: str, monitor_count: int) -> str | None:
    """Why the plan allows no further monitor beside ``monitor_count`` (a 403), or None."""
    limit = limits_for(plan).monitor_limit
    if limit is not None and monitor_count >= limit:
        return (
            f"Plan limit reached: the {plan} plan allows {limit} monitors; "
            "delete a monitor or upgrade the plan"
        )
    return None


# Columns an update may not set to null (the others mean "default" or "none" when null).
NOT_NULL = ("name", "url", "type", "interval_s", "method", "timeout_s", "regions")


def finish_update(values: dict[str, Any], current_type: str) -> list[FieldIssue]:
    """After ``validate`` passed an update: fill what null means, refuse what it cannot mean."""
    if values.get("url", "") is None and (values.get("type") or current_type) in NO_URL_TYPES:
        values["url"] = ""  # a heartbeat or LLM monitor has no target
    return [(c, "cannot be null") for c in NOT_NULL if c in values and values[c] is None][:1]


def is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
        return True
    except ValueError:
        return bool(_HOST_RE.match(value))


def url_issue(monitor_type: str, url: str) -> str | None:
    """Why ``url`` cannot be the target of a monitor of this type, or None."""
    if len(url) > 2048:
        return "must be at most 2048 characters"
    try:
        return _url_issue(monitor_type, url)
    except ValueError:
        # urlsplit refuses an unclosed IPv6 literal such as http://[::1
        return "is not a valid URL (an IPv6 address must be closed: http://[::1]:8080/)"


def _url_issue(monitor_type: str, url: str) -> str | None:
    if monitor_type in ("HTTP", "BROWSER"):
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and parts.hostname and is_host(parts.hostname)
        return None if ok and _port_ok(parts) else "must be a valid http:// or https:// URL"
    if monitor_type == "TCP":
        parts = urlsplit(url)
        ok = parts.scheme == "tcp" and parts.hostname and is_host(parts.hostname)
        return None if ok and _port_ok(parts) and parts.port else "must look like tcp://host:port"
    if monitor_type == "SSL":
        parts = urlsplit(url if "://" in url else f"https://{url}")
        ok = parts.scheme == "https" and parts.hostname and is_host(parts.hostname)
        return None if ok and _port_ok(parts) else "must be host, host:port or an https:// URL"
    if monitor_type in ("PING", "DNS"):
        return None if is_host(url) else "must be a host name or IP address"
    return None


def target_policy(org: Organization, settings: Settings) -> TargetPolicy:
    """The organization's target policy, as checks will apply it."""
    return TargetPolicy(trusted=org.trusted, allowed=parse_networks(settings.allowed_targets_csv))


def literal_refusal(policy: TargetPolicy, monitor_type: str, url: str) -> str | None:
    """Why the policy refuses the address ``url`` spells out (an IP or localhost), or None."""
    target = (
        url
        if monitor_type in ("PING", "DNS")
        else urlsplit(url if "://" in url else f"https://{url}").hostname or ""
    )
    host = target.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        # RFC 6761: always loopback, whatever a resolver says.
        return policy.refusal("127.0.0.1", host=host)
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    return policy.refusal(host)


def _port_ok(parts: Any) -> bool:
    try:
        port = parts.port
    except ValueError:
        return False
    return port is None or 1 <= port <= 65535


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _range(issues: list[FieldIssue], field: str, value: Any, low: int, high: int) -> None:
    n = _int(value)
    if n is None:
        issues.append((field, f"must be a whole number between {low} and {high}"))
    elif not low <= n <= high:
        issues.append((field, f"must be between {low} and {high}"))


def _config_issues(monitor_type: str, config: Mapping[str, Any]) -> list[FieldIssue]:
    module_name, fn_name = CONFIG_VALIDATORS[monitor_type]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return []
    fn: Callable[..., list[FieldIssue]] = getattr(module, fn_name)
    if module_name == "checks.http_config":
        return list(fn(config, monitor_type=monitor_type))
    return list(fn(config))


def validate(
    body: Any, *, ctx: Context, current: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[FieldIssue]]:
    """Check a create (``current`` None) or update body; return (column values, issues).

    ``current`` holds the stored monitor in API field names, so rules that span
    fields (timeout within interval, quorum within regions) see the merged result.
    """
    if not isinstance(body, dict):
        return {}, [("body", "must be a JSON object")]
    issues: list[FieldIssue] = []
    unknown = sorted(set(body) - set(COLUMNS) - READ_ONLY_FIELDS)
    for name in unknown:
        issues.append((name, "is not a monitor field"))
    given = {k: whole(k, v) for k, v in body.items() if k in COLUMNS}
    creating = current is None
    limits = limits_for(ctx.plan)
    merged: dict[str, Any] = dict(current or {})
    merged.update(given)
    if creating:
        for field, default in create_defaults(ctx, body.get("type")).items():
            merged.setdefault(field, default)
        for required in ("name", "type"):
            if body.get(required) in (None, ""):
                issues.append((required, "is required"))
        if body.get("url") in (None, "") and body.get("type") not in NO_URL_TYPES:
            issues.append(("url", "is required"))

    mtype = merged.get("type")
    if "type" in given and mtype not in TYPES:
        issues.append(("type", "must be one of " + ", ".join(TYPES)))
    if "name" in given:
        name = given["name"]
        if not isinstance(name, str) or not name.strip():
            issues.append(("name", "must be a non-empty string"))
        elif len(name) > 100:
            issues.append(("name", "must be at most 100 characters"))
    if ("url" in given or "type" in given) and mtype in TYPES:
        url = merged.get("url")
        if mtype not in NO_URL_TYPES or url not in (None, ""):
            if not isinstance(url, str):
                issues.append(("url", "must be a string"))
            elif (problem := url_issue(mtype, url)) is not None:
                issues.append(("url", problem))
            elif ctx.policy is not None and (refused := literal_refusal(ctx.policy, mtype, url)):
                issues.append(("url", refused))
    if "interval" in given or "type" in given:
        low = limits.min_interval_s
        _range(issues, "interval", merged.get("interval"), low, MAX_INTERVAL_S)
        if _int(merged.get("interval")) is not None and merged["interval"] < low:
            issues[-1] = (
                "interval",
                f"must be between {low} and {MAX_INTERVAL_S} on the {ctx.plan} plan",
            )
    if "method" in given and merged.get("method") not in METHODS:
        issues.append(("method", "must be one of " + ", ".join(METHODS)))
    if given.get("expectedStatus") is not None:
        _range(issues, "expectedStatus", given["expectedStatus"], 100, 599)
    if given.get("expectedKeyword") is not None:
        kw = given["expectedKeyword"]
        if not isinstance(kw, str):
            issues.append(("expectedKeyword", "must be a string"))
        elif len(kw) > 500:
            issues.append(("expectedKeyword", "must be at most 500 characters"))
    if "timeout" in given:
        _range(issues, "timeout", given["timeout"], 1, 60)
    if "isActive" in given and not isinstance(given["isActive"], bool):
        issues.append(("isActive", "must be true or false"))
    regions_ok = _check_regions(issues, given, merged, ctx)
    if "failureThreshold" in given:
        _range(issues, "failureThreshold", given["failureThreshold"], 1, MAX_THRESHOLD)
    if "recoveryThreshold" in given:
        _range(issues, "recoveryThreshold", given["recoveryThreshold"], 1, MAX_THRESHOLD)
    if ("regionQuorum" in given or "regions" in given) and regions_ok:
        _range(issues, "regionQuorum", merged.get("regionQuorum"), 1, len(merged["regions"]))
    if given.get("retryInterval") is not None:
        _range(issues, "retryInterval", given["retryInterval"], 10, MAX_INTERVAL_S)
    if given.get("reminderInterval") is not None:
        _range(issues, "reminderInterval", given["reminderInterval"], 1, 10080)
    if given.get("flapThreshold") is not None:
        _range(issues, "flapThreshold", given["flapThreshold"], 2, flapping.MAX_THRESHOLD)
    if given.get("flapWindow") is not None:
        _range(issues, "flapWindow", given["flapWindow"], 60, flapping.MAX_WINDOW_S)
    if "confirmFromOtherRegion" in given and not isinstance(given["confirmFromOtherRegion"], bool):
        issues.append(("confirmFromOtherRegion", "must be true or false"))
    if "metricsLabels" in given and not isinstance(given["metricsLabels"], bool):
        issues.append(("metricsLabels", "must be true or false"))
    if given.get("alertChannels") is not None:
        chans = given["alertChannels"]
        if not isinstance(chans, list) or not all(isinstance(c, str) for c in chans):
            issues.append(("alertChannels", "must be a list of alert channel ids"))
        else:
            for c in chans:
                if c not in ctx.channel_ids:
                    issues.append(("alertChannels", f"has no alert channel with id {c!r}"))
    if "config" in given or "type" in given:
        cfg = merged.get("config")
        if not isinstance(cfg, dict):
            issues.append(("config", "must be a JSON object"))
        elif mtype in TYPES:
            issues.extend(_config_issues(mtype, cfg))
    # A missing field is reported once, not also as malformed.
    missing = {f for f, issue in issues if issue == "is required"}
    issues = [(f, issue) for f, issue in issues if f not in missing or issue == "is required"]
    timeout, interval = _int(merged.get("timeout")), _int(merged.get("interval"))
    if not issues and timeout is not None and interval is not None and timeout > interval:
        if "timeout" in given:
            issues.append(("timeout", f"must not exceed the interval ({interval} s)"))
        elif not creating:
            issues.append(
                (
                    "interval",
                    f"must not be shorter than the monitor's timeout ({timeout} s); "
                    f"send a timeout of at most {interval} with it",
                )
            )
        # Creating without a timeout: with_create_defaults clamps it to the interval.
    return {COLUMNS[k]: v for k, v in given.items()}, issues


def _check_regions(
    issues: list[FieldIssue], given: Mapping[str, Any], merged: Mapping[str, Any], ctx: Context
) -> bool:
    regions = merged.get("regions")
    if "regions" not in given:
        return isinstance(regions, list) and bool(regions)
    known = ", ".join(ctx.known_regions)
    if not isinstance(regions, list) or not regions or not all(isinstance(r, str) for r in regions):
        issues.append(("regions", f"must be a non-empty list of region names ({known})"))
        return False
    if len(set(regions)) != len(regions):
        issues.append(("regions", "must not repeat a region"))
        return False
    for r in regions:
        if r not in ctx.known_regions:
            issues.append(
                (
                    "regions",
                    f"has unknown region {r!r}; known regions: {known} (an administrator "
                    "names this deployment's regions in VIGIL_REGIONS, e.g. "
                    "VIGIL_REGIONS=us-east-1,eu-west-1, and runs a worker for each)",
                )
            )
            return False
    return True
