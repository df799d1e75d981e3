"""Rollup tables: per (monitor, region, hour) and per (monitor, region, UTC day).

Every aggregate the read side serves (dashboard, uptime, SLA, performance over days)
comes from these small tables instead of raw ``check_results``. The two levels have
the same columns; hourly rows are kept 400 days, daily rows for ever.

Timing sums, counts and the latency histogram cover checks that were not DOWN (the
performance figures leave failures out: their timings measure the failure).
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import (
    REAL,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base

PHASES = ("dns", "tcp", "tls", "ttfb", "download", "total")

# The latency histogram of total time: bucket 0 holds totals under 1 ms, bucket k
# (1..HIST_BUCKETS-2) holds [RATIO**(k-1), RATIO**k) ms, the last one everything from
# RATIO**(HIST_BUCKETS-2) ms (about 70 s) up. A percentile read as the geometric
# middle of its bucket is within HIST_ERROR (relative) of the exact nearest-rank value.
HIST_RATIO = 1.25
HIST_BUCKETS = 52
HIST_ERROR = math.sqrt(HIST_RATIO) - 1  # 0.118: "within 12 %"
HIST_COLUMNS = tuple(f"h{k:02d}" for k in range(HIST_BUCKETS))


class _RollupColumns:
    """The columns both levels share; ``bucket_at`` is the hour's or the day's start."""

    monitor_id: Mapped[str] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket_at: Mapped[datetime] = mapped_column(primary_key=True)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    up: Mapped[int] = mapped_column(Integer, default=0)
    degraded: Mapped[int] = mapped_column(Integer, default=0)
    down: Mapped[int] = mapped_column(Integer, default=0)
    # Checks made while a maintenance window covered the monitor (any status).
    maintenance: Mapped[int] = mapped_column(Integer, default=0)
    # Bit h set: some check ran in hour h (UTC) of the bucket (daily rows; hourly
    # rows have bit 0). Time with no check is "no data", not down.
    hours_mask: Mapped[int] = mapped_column(Integer, default=0)
    dns_sum: Mapped[float] = mapped_column(Float, default=0.0)
    dns_count: Mapped[int] = mapped_column(Integer, default=0)
    tcp_sum: Mapped[float] = mapped_column(Float, default=0.0)
    tcp_count: Mapped[int] = mapped_column(Integer, default=0)
    tls_sum: Mapped[float] = mapped_column(Float, default=0.0)
    tls_count: Mapped[int] = mapped_column(Integer, default=0)
    ttfb_sum: Mapped[float] = mapped_column(Float, default=0.0)
    ttfb_count: Mapped[int] = mapped_column(Integer, default=0)
    download_sum: Mapped[float] = mapped_column(Float, default=0.0)
    download_count: Mapped[int] = mapped_column(Integer, default=0)
    total_sum: Mapped[float] = mapped_column(Float, default=0.0)
    total_count: Mapped[int] = mapped_column(Integer, default=0)
    size_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    size_count: Mapped[int] = mapped_column(Integer, default=0)
    total_min: Mapped[float | None] = mapped_column(Float)
    total_max: Mapped[float | None] = mapped_column(Float)


class HourlyRollup(_RollupColumns, Base):
    __tablename__ = "check_rollups_hourly"
    __table_args__ = (
        # Time before region: a monitor's hours are read by time range for every region
        # at once, which a (monitor, region, time) key could only do by scanning all of
        # the monitor's year (migration 0018).
        PrimaryKeyConstraint("monitor_id", "bucket_at", "region"),
        # Organization-wide sums (the dashboard) and retention read a time range.
        Index(None, "bucket_at"),
    )


class DailyRollup(_RollupColumns, Base):
    __tablename__ = "check_rollups_daily"
    # On PostgreSQL both indexes carry what the uptime (by monitor) and the dashboard
    # (by day) read, so those reads need no heap page (migration 0016).
    __table_args__ = (
        PrimaryKeyConstraint(
            "monitor_id",
            "bucket_at",
            "region",
            postgresql_include=[
                "checks",
                "up",
                "degraded",
                "down",
                "maintenance",
                "hours_mask",
                "total_sum",
                "total_count",
            ],
        ),
        Index(None, "bucket_at", postgresql_include=["monitor_id", "checks", "up", "degraded"]),
    )


# The histogram's counters, h00..h51, as plain integer columns so that an upsert can
# add to them on both stores (added after the class: 52 typed attributes say nothing).
for _cls in (HourlyRollup, DailyRollup):
    for _name in HIST_COLUMNS:
        setattr(_cls, _name, mapped_column(_name, Integer, default=0, nullable=False))


# The phases whose histograms ``PhaseBins`` keeps (total's is in the rollups above),
# by their number in ``PhaseBins.phase``.
BIN_PHASES = ("dns", "tcp", "tls", "ttfb", "download")
# The performance endpoint reads at most 168 hours back, from an hour's start.
PHASE_BINS_KEEP_DAYS = 8


class PhaseBins(Base):
    """How many checks of a monitor in an hour had a phase's time in each histogram
    bucket (the buckets of total time's histogram): one row per bucket that holds any,
    so a steady phase takes a row or two an hour. Checks that were not DOWN, all
    regions together; what the performance endpoint reads the p95 of each phase from
    past 24 hours. Kept ``PHASE_BINS_KEEP_DAYS``."""

    __tablename__ = "check_phase_bins_hourly"
    __table_args__ = (
        # On PostgreSQL the key carries the counts: a monitor's week is read from index
        # pages alone (its rows lie among every other monitor's, a heap page each).
        PrimaryKeyConstraint(
            "monitor_num", "bucket_at", "phase", "bin", postgresql_include=["n", "lo", "hi"]
        ),
        # Retention deletes by time.
        Index(None, "bucket_at"),
    )

    monitor_num: Mapped[int] = mapped_column(ForeignKey("monitors.num", ondelete="CASCADE"))
    bucket_at: Mapped[datetime]
    phase: Mapped[int] = mapped_column(SmallInteger)
    bin: Mapped[int] = mapped_column(SmallInteger)
    n: Mapped[int] = mapped_column(Integer)
    # The smallest and largest time in the bucket: a percentile read from the bucket
    # is kept between them (exact when the phase took the same time throughout).
    lo: Mapped[float] = mapped_column(REAL)
    hi: Mapped[float] = mapped_column(REAL)
