"""heartbeat last ping

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("monitor_schedules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_ping_at", store.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("monitor_schedules", schema=None) as batch_op:
        batch_op.drop_column("last_ping_at")
