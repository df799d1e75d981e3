"""Status page subscribers: subscribing, confirming, unsubscribing, and telling them.

An email subscriber is told nothing until it confirms (double opt-in); its token,
in every email's confirm and unsubscribe links, carries 256 random bits. A webhook
subscriber is active at once and gets a secret that signs every request.

``announce_pending`` runs with the periodic duties: it finds incidents opened,
updated or resolved and maintenance scheduled on each page with subscribers, and
queues one outbox row per subscriber (its own SUBSCRIBER channel) in the same
transaction as a ``status_page_announcements`` row, so each event is announced
once, by whichever process gets there first, and nothing is lost on a crash.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.channels import email as email_channel
from alerting.channels.base import AlertEvent, EventType
from alerting.channels.validation import check_http_url
from alerting.outbox import enqueue
from pages.links import confirm_url, page_url, unsubscribe_url
from pages.public_json import iso
from store.base import new_id
from store.channels import create_channel
from store.models import AlertChannel, Incident, MaintenanceWindow, Monitor
from store.status_page_models import (
    SUBSCRIBER_CHANNEL,
    IncidentUpdate,
    StatusPage,
    StatusPageAnnouncement,
    StatusPageComponent,
    StatusPageSubscriber,
)

# Events older than this when first seen are not announced (a page created today
# does not mail its subscribers last week's incidents).
ANNOUNCE_WITHIN = timedelta(hours=24)


class SubscribeError(ValueError):
    """The address or URL cannot be used; the message says why."""


MAX_EMAIL = 320  # the status_page_subscribers.email column


def email_problem(address: str) -> str | None:
    if len(address) > MAX_EMAIL:
        return f"must be at most {MAX_EMAIL} characters"
    issues = email_channel.validate({"recipients": [address]})
    return None if not issues else "must be an email address like you@example.com"


async def _channel(
    session: AsyncSession, page: StatusPage, config: dict[str, Any], *, now: datetime
) -> AlertChannel:
    return await create_channel(
        session,
        page.org_id,
        name=f"Subscriber of {page.slug}",
        channel_type=SUBSCRIBER_CHANNEL,
        config=config,
        is_active=True,
        now=now,
    )


async def subscribe_email(
    session: AsyncSession, page: StatusPage, address: str, *, base_url: str, now: datetime
) -> StatusPageSubscriber:
    """A pending subscriber, and its confirmation email queued; the same one if pending."""
    address = address.strip()
    problem = email_problem(address)
    if problem:
        raise SubscribeError(f"email {problem}")
    existing = await session.scalar(
        select(StatusPageSubscriber).where(
            StatusPageSubscriber.page_id == page.id, StatusPageSubscriber.email == address
        )
    )
    if existing is not None:
        # No second email: a stranger must not be able to flood an inbox from the form.
        return existing
    token = secrets.token_urlsafe(32)
    channel = await _channel(
        session,
        page,
        {
            "kind": "EMAIL",
            "email": address,
            "pageName": page.name,
            "pageUrl": page_url(page, base_url),
            "unsubscribeUrl": unsubscribe_url(page, base_url, token),
        },
        now=now,
    )
    subscriber = StatusPageSubscriber(
        id=new_id("sub"),
        page_id=page.id,
        kind="EMAIL",
        email=address,
        token=token,
        channel_id=channel.id,
        created_at=now,
    )
    session.add(subscriber)
    event = AlertEvent(
        id=new_id("evt"),
        type="subscription.confirm",
        monitor_id="",
        monitor_name=page.name,
        monitor_url=page_url(page, base_url),
        occurred_at=now,
        details={"confirmUrl": confirm_url(page, base_url, token)},
    )
    await enqueue(session, event, org_id=page.org_id, channel_ids=[channel.id], now=now)
    return subscriber


async def subscribe_webhook(
    session: AsyncSession, page: StatusPage, url: str, *, base_url: str, now: datetime
) -> tuple[StatusPageSubscriber, str]:
    """An active webhook subscriber and the secret that signs its requests (shown once)."""
    issues = check_http_url({"url": url}, "url")
    if issues:
        raise SubscribeError(f"webhookUrl {issues[0][1]}")
    secret = secrets.token_urlsafe(32)
    token = secrets.token_urlsafe(32)
    channel = await _channel(
        session,
        page,
        {
            "kind": "WEBHOOK",
            "url": url.strip(),
            "secret": secret,
            "pageName": page.name,
            "pageUrl": page_url(page, base_url),
        },
        now=now,
    )
    subscriber = StatusPageSubscriber(
        id=new_id("sub"),
        page_id=page.id,
        kind="WEBHOOK",
        url=url.strip(),
        token=token,
        confirmed_at=now,
        channel_id=channel.id,
        created_at=now,
    )
    session.add(subscriber)
    return subscriber, secret


async def by_token(
    session: AsyncSession, page: StatusPage, token: str
) -> StatusPageSubscriber | None:
    found: StatusPageSubscriber | None = await session.scalar(
        select(StatusPageSubscriber).where(
            StatusPageSubscriber.token == token, StatusPageSubscriber.page_id == page.id
        )
    )
    return found


async def remove(session: AsyncSession, subscriber: StatusPageSubscriber) -> None:
    """Forget the subscriber; its channel goes too, and with it anything still queued."""
    await session.execute(
        delete(StatusPageSubscriber).where(StatusPageSubscriber.id == subscriber.id)
    )
    if subscriber.channel_id:
        await session.execute(delete(AlertChannel).where(AlertChannel.id == subscriber.channel_id))


async def list_for(session: AsyncSession, page: StatusPage) -> Sequence[StatusPageSubscriber]:
    return (
        await session.scalars(
            select(StatusPageSubscriber)
            .where(StatusPageSubscriber.page_id == page.id)
            .order_by(StatusPageSubscriber.created_at, StatusPageSubscriber.id)
        )
    ).all()


async def remove_page_channels(session: AsyncSession, page: StatusPage) -> None:
    """Before a page is deleted: its subscribers' channels (they do not cascade)."""
    ids = list(
        await session.scalars(
            select(StatusPageSubscriber.channel_id).where(
                StatusPageSubscriber.page_id == page.id,
                StatusPageSubscriber.channel_id.is_not(None),
            )
        )
    )
    if ids:
        await session.execute(delete(AlertChannel).where(AlertChannel.id.in_(ids)))


@dataclass(frozen=True)
class _Event:
    subject_id: str
    kind: EventType
    at: datetime
    event: AlertEvent


async def announce_pending(session: AsyncSession, *, now: datetime, base_url: str) -> int:
    """Queue messages for every unannounced event of pages with subscribers; returns how many."""
    pages = (
        await session.scalars(
            select(StatusPage).where(
                StatusPage.id.in_(
                    select(StatusPageSubscriber.page_id).where(
                        StatusPageSubscriber.confirmed_at.is_not(None)
                    )
                )
            )
        )
    ).all()
    queued = 0
    for page in pages:
        since = max(page.created_at, now - ANNOUNCE_WITHIN)
        announced = await session.execute(
            select(StatusPageAnnouncement.subject_id, StatusPageAnnouncement.kind).where(
                StatusPageAnnouncement.page_id == page.id,
                StatusPageAnnouncement.announced_at >= since - ANNOUNCE_WITHIN,
            )
        )
        done = {(subject, kind) for subject, kind in announced}
        events = [
            e
            for e in await _events(session, page, since=since, now=now, base_url=base_url)
            if (e.subject_id, e.kind) not in done
        ]
        if not events:
            continue
        channels: list[str] = [
            c
            for c in await session.scalars(
                select(StatusPageSubscriber.channel_id).where(
                    StatusPageSubscriber.page_id == page.id,
                    StatusPageSubscriber.confirmed_at.is_not(None),
                    StatusPageSubscriber.channel_id.is_not(None),
                )
            )
            if c
        ]
        for e in sorted(events, key=lambda e: e.at):
            session.add(
                StatusPageAnnouncement(
                    page_id=page.id, subject_id=e.subject_id, kind=e.kind, announced_at=now
                )
            )
            queued += await enqueue(
                session, e.event, org_id=page.org_id, channel_ids=channels, now=now
            )
    return queued


async def _events(
    session: AsyncSession, page: StatusPage, *, since: datetime, now: datetime, base_url: str
) -> list[_Event]:
    names: dict[str, list[str]] = {}
    monitors: dict[str, Monitor] = {}
    rows = await session.execute(
        select(StatusPageComponent, Monitor)
        .join(Monitor, Monitor.id == StatusPageComponent.monitor_id)
        .where(StatusPageComponent.page_id == page.id)
    )
    for component, monitor in rows:
        names.setdefault(monitor.id, []).append(component.display_name)
        monitors[monitor.id] = monitor
    url = page_url(page, base_url)
    out: list[_Event] = []

    def event(
        kind: EventType, subject: str, at: datetime, monitor: Monitor | None, **details: Any
    ) -> None:
        details.update(pageName=page.name, pageUrl=url)
        out.append(
            _Event(
                subject,
                kind,
                at,
                AlertEvent(
                    id=new_id("evt"),
                    type=kind,
                    monitor_id=monitor.id if monitor else "",
                    monitor_name=monitor.name if monitor else page.name,
                    monitor_url=monitor.url if monitor else url,
                    occurred_at=at,
                    incident_id=details.get("incidentId"),
                    details=details,
                ),
            )
        )

    incidents = (
        await session.scalars(
            select(Incident).where(
                Incident.monitor_id.in_(list(monitors)),
                Incident.in_maintenance.is_(False),
                or_(Incident.started_at >= since, Incident.resolved_at >= since),
            )
        )
    ).all()
    for i in incidents:
        shown = names.get(i.monitor_id, [])
        title = f"{', '.join(shown)}: {i.cause}" if i.cause else f"{', '.join(shown)} unavailable"
        common = {"incidentId": i.id, "title": title, "components": shown}
        if i.started_at >= since:
            event(
                "incident.opened",
                i.id,
                i.started_at,
                monitors[i.monitor_id],
                status="investigating",
                startedAt=iso(i.started_at),
                **common,
            )
        if i.resolved_at is not None and i.resolved_at >= since:
            event(
                "incident.resolved",
                i.id,
                i.resolved_at,
                monitors[i.monitor_id],
                status="resolved",
                startedAt=iso(i.started_at),
                resolvedAt=iso(i.resolved_at),
                **common,
            )
    updates = await session.execute(
        select(IncidentUpdate, Incident)
        .join(Incident, Incident.id == IncidentUpdate.incident_id)
        .where(Incident.monitor_id.in_(list(monitors)), IncidentUpdate.created_at >= since)
    )
    for u, i in updates:
        shown = names.get(i.monitor_id, [])
        event(
            "incident.updated",
            u.id,
            u.created_at,
            monitors[i.monitor_id],
            incidentId=i.id,
            title=f"{', '.join(shown)}: {i.cause or 'unavailable'}",
            components=shown,
            status=u.status,
            body=u.body,
        )
    windows = await session.scalars(
        select(MaintenanceWindow).where(
            MaintenanceWindow.org_id == page.org_id,
            MaintenanceWindow.is_active.is_(True),
            MaintenanceWindow.created_at >= since,
            MaintenanceWindow.ends_at > now,
            or_(
                MaintenanceWindow.monitor_id.is_(None),
                MaintenanceWindow.monitor_id.in_(list(monitors)),
            ),
        )
    )
    for w in windows:
        event(
            "maintenance.scheduled",
            w.id,
            w.created_at,
            monitors.get(w.monitor_id) if w.monitor_id else None,
            title=w.title,
            components=names.get(w.monitor_id, []) if w.monitor_id else ["all components"],
            startsAt=iso(w.starts_at),
            endsAt=iso(w.ends_at),
            body=w.description or "",
        )
    return out
