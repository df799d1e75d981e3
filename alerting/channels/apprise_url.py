"""APPRISE channel: any Apprise URL (Discord, Teams, Telegram, ntfy...). Config: ``{"url"}``.

Apprise answers with a status only, so the reason for a failure comes from the
warnings Apprise captured for this one call (``AppriseResult.logs()``: unlike a
global ``LogCapture`` handler, it does not mix in deliveries running at the same
time). Its plugins log HTTP failures as ``...error=404``: a 4xx other than
408/425/429 is reported as permanent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apprise
from apprise.manager_plugins import NotificationManager

from alerting import messages
from alerting.channels.base import AlertEvent, ChannelSpec, Delivery, DeliveryContext
from alerting.channels.connect_guard import guarded
from alerting.channels.validation import ELLIPSIS, Issues, misconfigured
from checks.target_policy import TargetPolicy

_NOTIFY_TYPES = {
    "monitor.down": apprise.NotifyType.FAILURE,
    "heartbeat.missed": apprise.NotifyType.FAILURE,
    "monitor.up": apprise.NotifyType.SUCCESS,
    "monitor.degraded": apprise.NotifyType.WARNING,
    "ssl.expiring": apprise.NotifyType.WARNING,
    "test": apprise.NotifyType.INFO,
}
# Apprise plugins log HTTP failures as "...error=404."; these codes will not heal.
_HTTP_ERROR = re.compile(r"error=(\d{3})\b")
_RETRYABLE_4XX = frozenset({408, 425, 429})
_REASON_CHARS = 200
_PLUGINS = NotificationManager()  # type: ignore[no-untyped-call]  # a shared singleton


@dataclass(frozen=True)
class Notice:
    """What Apprise is asked to send."""

    title: str
    body: str
    notify_type: apprise.NotifyType


def render(event: AlertEvent, config: Mapping[str, Any]) -> Notice:
    return Notice(
        title=messages.title(event),
        body=messages.text(event),
        notify_type=_NOTIFY_TYPES.get(event.type, apprise.NotifyType.INFO),
    )


def validate(config: Mapping[str, Any]) -> Issues:
    url = config.get("url")
    if not isinstance(url, str) or "://" not in url:
        return [("config.url", "is required: an Apprise URL such as discord://id/token")]
    scheme = url.split("://", 1)[0].lower()
    if scheme not in _PLUGINS:
        return [
            (
                "config.url",
                f"uses {scheme}://, which Apprise does not know; see "
                "https://github.com/caronc/apprise/wiki for the supported services",
            )
        ]
    if _new_apprise().instantiate(url.strip()) is None:
        return [
            (
                "config.url",
                f"is not a valid {scheme}:// URL for Apprise: a token or target is missing "
                "or malformed; compare it with the service's page in the Apprise wiki",
            )
        ]
    return []


def mask(config: Mapping[str, Any]) -> dict[str, Any]:
    """Apprise's own privacy view of the URL (it knows which part is the token)."""
    masked = dict(config)
    url = masked.get("url")
    if isinstance(url, str):
        plugin = apprise.Apprise.instantiate(url.strip()) if not validate(config) else None
        private = plugin.url(privacy=True) if plugin else None  # type: ignore[no-untyped-call]
        masked["url"] = _only_given_params(private, url) if private else ELLIPSIS
    return masked


async def deliver(channel: ChannelSpec, event: AlertEvent, ctx: DeliveryContext) -> Delivery:
    issues = validate(channel.config)
    if issues:
        return misconfigured(channel, issues)
    return await send(
        channel.config["url"].strip(),
        render(event, channel.config),
        timeout_s=ctx.timeout_s,
        receiver=f"Apprise channel {channel.name!r}",
        policy=ctx.policy(channel),
    )


async def send(
    url: str, notice: Notice, *, timeout_s: float, receiver: str, policy: TargetPolicy
) -> Delivery:
    """Send one notice through Apprise; a failure's reason comes from its captured warnings.

    Every socket Apprise's plugin opens is judged by ``policy`` (``connect_guard``).
    """
    sender = _new_apprise()
    if not sender.add(url):
        return Delivery(
            ok=False,
            permanent=True,
            error=f"{receiver}: Apprise cannot use this URL; check its format in the Apprise wiki",
        )
    with guarded(policy) as guard:
        result = await sender.async_notify(
            body=notice.body,
            title=notice.title,
            notify_type=notice.notify_type,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=timeout_s,
        )
    if guard.refusals and not result:
        result.close()
        return Delivery(ok=False, permanent=True, error=f"{receiver}: {guard.refusals[0]}")
    with result:
        if result:
            return Delivery(ok=True)
        if result.status == apprise.AppriseResultStatus.TIMEOUT:
            return Delivery(
                ok=False,
                error=f"{receiver} did not finish within {timeout_s:g} s; will retry",
            )
        reasons = _reasons(result)
    codes = [int(code) for reason in reasons for code in _HTTP_ERROR.findall(reason)]
    permanent = any(400 <= code < 500 and code not in _RETRYABLE_4XX for code in codes)
    advice = "fix the channel, retrying will not help" if permanent else "will retry"
    said = "; ".join(reasons) or "Apprise gave no reason"
    return Delivery(ok=False, permanent=permanent, error=f"{receiver} failed: {said}; {advice}")


def _new_apprise() -> apprise.Apprise:
    # Memory storage: nothing written under the service user's home directory.
    return apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))


def _reasons(result: apprise.AppriseResult) -> list[str]:
    reasons = (
        str(entry.message).strip().rstrip(".")[:_REASON_CHARS]
        for entry in result.logs()
        if entry.level in ("WARNING", "ERROR", "CRITICAL")
    )
    return list(dict.fromkeys(reasons))


def _only_given_params(privacy_url: str, original: str) -> str:
    # Apprise's privacy URL spells out every default parameter; keep the ones the user set.
    given = {key for key, _ in parse_qsl(urlsplit(original).query)}
    parts = urlsplit(privacy_url)
    kept = [(key, value) for key, value in parse_qsl(parts.query) if key in given]
    return urlunsplit(parts._replace(query=urlencode(kept)))
