"""Tables. Times are UTC (``*_at``), durations in ms (``*_ms``) or seconds (``*_s``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.selectable import ScalarSelect

from store.base import Base, BigId, JSONDoc, NullableJSON
from store.secrets import EncryptedDocument, MonitorConfig

JSONList = JSONDoc

Role = Literal["OWNER", "ADMIN", "VIEWER"]
MonitorType = Literal["HTTP", "TCP", "PING", "DNS", "SSL", "HEARTBEAT", "BROWSER", "LLM"]
CheckStatus = Literal["UP", "DOWN", "DEGRADED"]
ChannelType = Literal["EMAIL", "SLACK", "WEBHOOK", "PAGERDUTY", "APPRISE"]


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    plan: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # May its checks and channels reach internal addresses? (checks.target_policy)
    trusted: Mapped[bool] = mapped_column(default=False, server_default=false())


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    image: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Member(Base):
    __tablename__ = "members"
    # A user may belong to several organizations, once each; a key belongs to one
    # membership (its org_id and user_id).
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "org_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # Only a SHA-256 of the key is kept; keys carry >= 192 random bits.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Monitor(Base):
    __tablename__ = "monitors"
    __table_args__ = (Index(None, "org_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    interval_s: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    method: Mapped[str] = mapped_column(String(8), default="GET")
    expected_status: Mapped[int | None] = mapped_column(Integer)
    expected_keyword: Mapped[str | None] = mapped_column(String(500))
    timeout_s: Mapped[int] = mapped_column(Integer, default=30)
    regions: Mapped[list[str]] = mapped_column(JSONList)
    # Header values encrypted at rest (store.secrets).
    config: Mapped[dict[str, Any]] = mapped_column(MonitorConfig)
    failure_threshold: Mapped[int] = mapped_column(Integer, default=2)
    recovery_threshold: Mapped[int] = mapped_column(Integer, default=1)
    region_quorum: Mapped[int] = mapped_column(Integer, default=1)
    retry_interval_s: Mapped[int | None] = mapped_column(Integer)
    # None means "every active channel of the organization".
    alert_channels: Mapped[list[str] | None] = mapped_column(JSONList, nullable=True)
    reminder_interval_min: Mapped[int | None] = mapped_column(Integer)
    heartbeat_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Flapping: more than flap_threshold state changes within flap_window_s (None: defaults).
    flap_threshold: Mapped[int | None] = mapped_column(Integer)
    flap_window_s: Mapped[int | None] = mapped_column(Integer)
    # Before opening an incident, re-check from another region and open only if it agrees.
    confirm_other_region: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # Opt-in Prometheus series labelled with this monitor's id (docs/metrics.md).
    metrics_labels: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The small integer check_results refer to the monitor by (4 bytes, not the id's
    # 20 in every raw row and its index). The store assigns it on insert (an identity
    # on PostgreSQL, a trigger on SQLite) and never reuses one; queries read it with
    # ``monitor_num()``, an instance's value may not be loaded.
    num: Mapped[int] = mapped_column(Integer, Identity(), unique=True)


def monitor_num(monitor_id: str) -> ScalarSelect[int]:
    """The ``num`` of the monitor with id ``monitor_id``, as a subquery."""
    return select(Monitor.num).where(Monitor.id == monitor_id).scalar_subquery()


class MonitorSchedule(Base):
    """One row per (monitor, region): when it runs next, who holds it, its streaks."""

    __tablename__ = "monitor_schedules"
    __table_args__ = (Index(None, "region", "next_run_at"),)

    monitor_id: Mapped[str] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_checked_at: Mapped[datetime | None]
    # HEARTBEAT: when the job in progress said /start (for its duration), and when
    # the last ping of any kind came (missed-deadline results do not count).
    run_started_at: Mapped[datetime | None]
    last_ping_at: Mapped[datetime | None]
    # The slot the lease is for, until its result is written: when a lease lapses
    # with this still set, the holder died and the claimer runs that slot itself.
    leased_slot_at: Mapped[datetime | None]


class CheckResult(Base):
    __tablename__ = "check_results"
    __table_args__ = (Index(None, "monitor_num", "checked_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Monitor.num, not the id (see there); monitor_num(id) finds it in a query.
    monitor_num: Mapped[int] = mapped_column(ForeignKey("monitors.num", ondelete="CASCADE"))
    region: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    checked_at: Mapped[datetime]
    response_time_ms: Mapped[int | None] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    dns_ms: Mapped[float | None]
    tcp_ms: Mapped[float | None]
    tls_ms: Mapped[float | None]
    ttfb_ms: Mapped[float | None]
    download_ms: Mapped[float | None]
    total_ms: Mapped[float | None]
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # SQL NULL (not JSON null) for a plain UP result (see store.results.is_plain).
    details: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    # How long after its slot the check started; the slot is checked_at - lateness.
    lateness_ms: Mapped[int | None] = mapped_column(Integer)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index(None, "monitor_id", "started_at"),
        Index(None, "org_id", "started_at"),
        # At most one active incident per monitor, whoever evaluates when.
        Index(
            "uq_incidents_one_active",
            "monitor_id",
            unique=True,
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active = 1"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    cause: Mapped[str | None] = mapped_column(Text)
    regions: Mapped[list[str]] = mapped_column(JSONList)
    is_active: Mapped[bool] = mapped_column(Boolean)
    in_maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the DOWN alert was queued; None while withheld by a maintenance window.
    down_alerted_at: Mapped[datetime | None]
    # Opened while the monitor was flapping: its state changes were recorded, not paged.
    flapping: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    last_reminder_at: Mapped[datetime | None]


class AlertChannel(Base):
    __tablename__ = "alert_channels"
    __table_args__ = (Index(None, "org_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    # Encrypted at rest as a whole: URLs, tokens and signing secrets (store.secrets).
    config: Mapped[dict[str, Any]] = mapped_column(EncryptedDocument)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MaintenanceWindow(Base):
    __tablename__ = "maintenance_windows"
    __table_args__ = (Index(None, "org_id", "starts_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    monitor_id: Mapped[str | None] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class RateLimitWindow(Base):
    """Requests per API key per minute, shared by every API process through the store."""

    __tablename__ = "rate_limit_windows"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigId, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    api_key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Worker(Base):
    """A live worker process, for ``GET /api/regions`` and ``GET /api/status``."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # The worker's canary of its own connectivity; unhealthy workers' failures do not count.
    healthy: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    canary_error: Mapped[str | None] = mapped_column(Text)
    unhealthy_since: Mapped[datetime | None]
    unhealthy_alerted_at: Mapped[datetime | None]


class AlertOutbox(Base):
    """One alert for one channel, written in the transaction that changed the state.

    ``event_id`` is the same for every channel told of one state change and on every
    retry, so receivers can de-duplicate.
    """

    __tablename__ = "alert_outbox"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        UniqueConstraint("event_id", "channel_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    monitor_id: Mapped[str | None] = mapped_column(ForeignKey("monitors.id", ondelete="SET NULL"))
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("alert_channels.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    # pending -> delivered | failed (the dead letter: rejected, or retried for the
    # whole window); a failed row goes back to pending when someone retries it.
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    # The attempt holding the lease: a dispatcher that lost its lease to a peer
    # cannot renew it or overwrite the peer's outcome.
    attempt_id: Mapped[int | None] = mapped_column(BigId)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    # The retry window runs from here (a manual retry restarts it), else from created_at.
    retry_from_at: Mapped[datetime | None]


class AlertAttempt(Base):
    """Every delivery attempt of an outbox row, written when it starts.

    ``outcome``: in_flight -> delivered | failed, or interrupted when the
    dispatcher died before the channel answered (found when the row is taken over).
    """

    __tablename__ = "alert_attempts"
    __table_args__ = (Index(None, "outbox_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_id: Mapped[str] = mapped_column(ForeignKey("alert_outbox.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None]
    outcome: Mapped[str] = mapped_column(String(16), server_default="failed")
    finished_at: Mapped[datetime | None]


class SslAlertState(Base):
    """The last expiry threshold alerted for a monitor's current certificate."""

    __tablename__ = "ssl_alert_states"

    monitor_id: Mapped[str] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    # The certificate's SHA-256 fingerprint (or its notAfter): a new one resets the state.
    certificate: Mapped[str] = mapped_column(String(128))
    threshold_days: Mapped[int] = mapped_column(Integer)
    alerted_at: Mapped[datetime]


class Artifact(Base):
    """A binary a check produced (a screenshot), referenced from its result's details."""

    __tablename__ = "artifacts"
    __table_args__ = (Index(None, "monitor_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


from store.ai_models import *  # noqa: E402,F403
from store.channel_health import ChannelHealth  # noqa: E402,F401
from store.flap_models import MonitorFlapState  # noqa: E402,F401
from store.org_origins import OrganizationOrigin  # noqa: E402, F401
from store.rollup_models import DailyRollup, HourlyRollup  # noqa: E402,F401
from store.status_page_models import *  # noqa: E402,F403
from store.team_models import Invitation  # noqa: E402,F401
