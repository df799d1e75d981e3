"""``ssl.expiring`` alerts: once per threshold crossed, per certificate.

SSL monitors always take part; HTTP monitors opt in with ``config.sslExpiryAlerts``.
Thresholds are ``config.warnDays`` (default 30, 14, 7 and 1 days). A certificate
that crosses 14 days alerts once; the next alert comes when it crosses 7. A new
certificate (another fingerprint, or another notAfter) starts over.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alerting.channels.base import AlertEvent
from alerting.outbox import channels_for, enqueue
from alerting.redact import mask_url
from store.base import new_id
from store.maintenance import in_maintenance
from store.models import Monitor, SslAlertState
from store.results import RecordedResult

DEFAULT_WARN_DAYS = (30, 14, 7, 1)


def takes_part(monitor: Monitor) -> bool:
    return monitor.type == "SSL" or (
        monitor.type == "HTTP" and monitor.config.get("sslExpiryAlerts") is True
    )


def certificate_of(details: Mapping[str, Any]) -> tuple[str, datetime] | None:
    """(identity, notAfter) of the certificate a result saw, if it saw one."""
    cert = details.get("certificate") if "notAfter" not in details else details
    if not isinstance(cert, Mapping) or not isinstance(cert.get("notAfter"), str):
        return None
    not_after = datetime.fromisoformat(cert["notAfter"].replace("Z", "+00:00"))
    identity = cert.get("fingerprintSha256") or cert["notAfter"]
    return str(identity), not_after


def crossed(days_left: int, warn_days: Sequence[int]) -> int | None:
    """The tightest threshold at or under which ``days_left`` falls, if any."""
    under = [t for t in warn_days if days_left <= t]
    return min(under) if under else None


def warn_days(config: Mapping[str, Any]) -> tuple[int, ...]:
    raw = config.get("warnDays")
    if isinstance(raw, list) and raw and all(isinstance(d, int) for d in raw):
        return tuple(sorted(set(raw), reverse=True))
    return DEFAULT_WARN_DAYS


async def check_expiry(
    session: AsyncSession, monitor: Monitor, items: Sequence[RecordedResult], *, now: datetime
) -> None:
    """Queue an ``ssl.expiring`` alert when the latest result crossed a new threshold."""
    seen = [(i, c) for i in items if (c := certificate_of(i.result.details)) is not None]
    if not seen:
        return
    item, (identity, not_after) = seen[-1]
    days_left = math.floor((not_after - item.checked_at).total_seconds() / 86400)
    threshold = crossed(days_left, warn_days(monitor.config))
    state = await session.get(SslAlertState, monitor.id, with_for_update=True)
    if state is not None and state.certificate != identity:
        await session.delete(state)  # renewed: start over
        await session.flush()
        state = None
    if threshold is None or (state is not None and threshold >= state.threshold_days):
        return
    if days_left < 0:
        return  # expired: the check is DOWN and the incident alerts
    if await in_maintenance(session, org_id=monitor.org_id, monitor_id=monitor.id, now=now):
        return  # not recorded as sent: the next check after the window alerts
    if state is None:
        state = SslAlertState(monitor_id=monitor.id, certificate=identity)
        session.add(state)
    state.threshold_days = threshold
    state.alerted_at = now
    event = AlertEvent(
        id=new_id("evt"),
        type="ssl.expiring",
        monitor_id=monitor.id,
        monitor_name=monitor.name,
        monitor_url=mask_url(monitor.url),
        occurred_at=now,
        cause=f"Certificate expires in {days_left} days ({not_after.date().isoformat()})",
        regions=(item.region,),
        details={
            "daysRemaining": days_left,
            "notAfter": not_after.isoformat(),
            "threshold": threshold,
        },
    )
    channels = await channels_for(session, monitor)
    await enqueue(session, event, org_id=monitor.org_id, channel_ids=channels, now=now)
