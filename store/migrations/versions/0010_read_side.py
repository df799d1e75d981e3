"""read side: rollup tables, compact results

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0010"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS = ("check_rollups_hourly", "check_rollups_daily")
PHASES = ("dns", "tcp", "tls", "ttfb", "download", "total")
HIST_BUCKETS = 52


def _rollup_columns() -> list[sa.Column[object]]:
    counter = {"nullable": False, "server_default": "0"}
    cols: list[sa.Column[object]] = [
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("bucket_at", store.base.UTCDateTime(timezone=True), nullable=False),
    ]
    for name in ("checks", "up", "degraded", "down", "maintenance", "hours_mask"):
        cols.append(sa.Column(name, sa.Integer(), **counter))  # type: ignore[arg-type]
    for phase in PHASES:
        cols.append(sa.Column(f"{phase}_sum", sa.Float(), **counter))  # type: ignore[arg-type]
        cols.append(sa.Column(f"{phase}_count", sa.Integer(), **counter))  # type: ignore[arg-type]
    cols.append(sa.Column("size_sum", sa.BigInteger(), **counter))  # type: ignore[arg-type]
    cols.append(sa.Column("size_count", sa.Integer(), **counter))  # type: ignore[arg-type]
    cols.append(sa.Column("total_min", sa.Float(), nullable=True))
    cols.append(sa.Column("total_max", sa.Float(), nullable=True))
    for k in range(HIST_BUCKETS):
        cols.append(sa.Column(f"h{k:02d}", sa.Integer(), **counter))  # type: ignore[arg-type]
    return cols


def upgrade() -> None:
    for table in ROLLUPS:
        op.create_table(
            table,
            *_rollup_columns(),
            sa.ForeignKeyConstraint(
                ["monitor_id"],
                ["monitors.id"],
                name=op.f(f"fk_{table}_monitor_id_monitors"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("monitor_id", "region", "bucket_at", name=op.f(f"pk_{table}")),
        )
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        # Compact rows: a plain UP result keeps its lateness here and no JSON.
        batch_op.add_column(sa.Column("lateness_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.drop_column("lateness_ms")
    for table in ROLLUPS:
        op.drop_table(table)
