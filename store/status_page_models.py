"""Tables of public status pages: pages, components, notices, incident updates, subscribers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, JSONDoc

# The alert channel type of a subscriber's own channel: never listed with the
# organization's channels, never chosen for a monitor's alerts.
SUBSCRIBER_CHANNEL = "SUBSCRIBER"
UpdateStatus = Literal["investigating", "identified", "monitoring", "resolved"]
UPDATE_STATUSES: tuple[UpdateStatus, ...] = (
    "investigating",
    "identified",
    "monitoring",
    "resolved",
)


class StatusPage(Base):
    __tablename__ = "status_pages"
    __table_args__ = (Index(None, "org_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # Unique across all organizations: it is the page's public address.
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    logo_url: Mapped[str | None] = mapped_column(Text)
    favicon_url: Mapped[str | None] = mapped_column(Text)
    custom_css: Mapped[str | None] = mapped_column(Text)
    hide_branding: Mapped[bool] = mapped_column(Boolean, default=False)
    custom_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    # ``vigil-verify=<random>``, expected in TXT ``_vigil-verification.<domain>``.
    domain_token: Mapped[str | None] = mapped_column(String(80))
    domain_verified_at: Mapped[datetime | None]
    domain_checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StatusPageComponent(Base):
    """A monitor shown on a page, under a display name, in a group, in an order."""

    __tablename__ = "status_page_components"
    __table_args__ = (Index(None, "page_id", "position"), Index(None, "monitor_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    page_id: Mapped[str] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(100))
    group_name: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    # None: every region of the monitor.
    regions: Mapped[list[str] | None] = mapped_column(JSONDoc, nullable=True)


class StatusPageNotice(Base):
    """A message on a page not tied to a monitor (a known issue, an announcement)."""

    __tablename__ = "status_page_notices"
    __table_args__ = (Index(None, "page_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    page_id: Mapped[str] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # minor | major | maintenance | info
    severity: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class IncidentUpdate(Base):
    """A person's word on an incident: its status and a markdown body."""

    __tablename__ = "incident_updates"
    __table_args__ = (Index(None, "incident_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class StatusPageSubscriber(Base):
    """A visitor told of incidents and maintenance, by email (double opt-in) or webhook."""

    __tablename__ = "status_page_subscribers"
    __table_args__ = (Index(None, "page_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    page_id: Mapped[str] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    # EMAIL | WEBHOOK
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    url: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(String(128))
    # Confirms and unsubscribes; >= 192 random bits, so it cannot be guessed.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None]
    # The hidden SUBSCRIBER alert channel its messages go through (the outbox's target).
    channel_id: Mapped[str | None] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]


class StatusPageAnnouncement(Base):
    """That subscribers of a page were told of one event (an incident opened, ...).

    Written in the transaction that queues the messages, so an event is announced
    once whichever process looks, and a crash before the commit loses nothing.
    """

    __tablename__ = "status_page_announcements"
    __table_args__ = (UniqueConstraint("page_id", "subject_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page_id: Mapped[str] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    # An incident, an incident update or a maintenance window id.
    subject_id: Mapped[str] = mapped_column(String(32))
    # incident.opened | incident.updated | incident.resolved | maintenance.scheduled
    kind: Mapped[str] = mapped_column(String(32))
    announced_at: Mapped[datetime]
