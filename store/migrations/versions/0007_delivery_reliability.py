"""delivery reliability: attempt outcomes, retry windows, channel health, slot leases

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outcome", sa.String(length=16), nullable=False, server_default="failed")
        )
        batch_op.add_column(
            sa.Column("finished_at", store.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE alert_attempts SET outcome = 'delivered' WHERE ok")
    op.execute("UPDATE alert_attempts SET finished_at = attempted_at")
    with op.batch_alter_table("alert_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("retry_from_at", store.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("failed_at", store.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("monitor_schedules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("leased_slot_at", store.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "channel_health",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("failing_since", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("notified_at", store.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["alert_channels.id"],
            name=op.f("fk_channel_health_channel_id_alert_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_channel_health_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_health")),
    )


def downgrade() -> None:
    op.drop_table("channel_health")
    with op.batch_alter_table("monitor_schedules", schema=None) as batch_op:
        batch_op.drop_column("leased_slot_at")
    with op.batch_alter_table("alert_outbox", schema=None) as batch_op:
        batch_op.drop_column("failed_at")
        batch_op.drop_column("retry_from_at")
        batch_op.drop_column("attempt_id")
    with op.batch_alter_table("alert_attempts", schema=None) as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("outcome")
