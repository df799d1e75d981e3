"""flapping, worker canaries, cross-region confirmation

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import store.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flap_threshold", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("flap_window_s", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "confirm_other_region", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("flapping", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("healthy", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("canary_error", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("unhealthy_since", store.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("unhealthy_alerted_at", store.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "monitor_flap_states",
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("changes", _JSON, nullable=False),
        sa.Column("flapping_since", store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_change_at", store.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitors.id"],
            name=op.f("fk_monitor_flap_states_monitor_id_monitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("monitor_id", name=op.f("pk_monitor_flap_states")),
    )
    op.create_index(
        op.f("ix_monitor_flap_states_flapping_since"),
        "monitor_flap_states",
        ["flapping_since"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_monitor_flap_states_flapping_since"), table_name="monitor_flap_states")
    op.drop_table("monitor_flap_states")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("unhealthy_alerted_at")
        batch_op.drop_column("unhealthy_since")
        batch_op.drop_column("canary_error")
        batch_op.drop_column("healthy")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("flapping")
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.drop_column("confirm_other_region")
        batch_op.drop_column("flap_window_s")
        batch_op.drop_column("flap_threshold")
