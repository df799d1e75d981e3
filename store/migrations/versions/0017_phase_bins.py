"""per-phase latency histograms per (monitor, hour), for the performance endpoint's p95

Revision ID: 0017
Revises: 0016

The p95 of every phase over more than a day was read from up to 10,080 raw rows per
monitor, each on its own heap page (a minute's rows of all monitors lie together):
~40 ms for 7 days. ``check_phase_bins_hourly`` keeps, per (monitor, hour, phase), the
count of checks in each bucket of total time's histogram (and the smallest and largest
time in it), sparse; the result writer
adds to it and housekeeping keeps 8 days. Existing results are not summed into it
here: ``vigil rollup --backfill --since DAY`` does that for the days wanted.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.base import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_phase_bins_hourly",
        sa.Column("monitor_num", sa.Integer(), nullable=False),
        sa.Column("bucket_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("phase", sa.SmallInteger(), nullable=False),
        sa.Column("bin", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("lo", sa.REAL(), nullable=False),
        sa.Column("hi", sa.REAL(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_num"],
            ["monitors.num"],
            name=op.f("fk_check_phase_bins_hourly_monitor_num_monitors"),
            ondelete="CASCADE",
        ),
        # On PostgreSQL the key carries the counts: the read touches index pages only.
        sa.PrimaryKeyConstraint(
            "monitor_num",
            "bucket_at",
            "phase",
            "bin",
            name=op.f("pk_check_phase_bins_hourly"),
            postgresql_include=["n", "lo", "hi"],
        ),
    )
    op.create_index(
        op.f("ix_check_phase_bins_hourly_bucket_at"), "check_phase_bins_hourly", ["bucket_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_check_phase_bins_hourly_bucket_at"), "check_phase_bins_hourly")
    op.drop_table("check_phase_bins_hourly")
