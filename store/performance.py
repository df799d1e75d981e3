"""Timing statistics of a monitor's checks, computed by the database."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Integer, Select, bindparam, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from store.clock import utc
from store.models import CheckResult, Monitor, monitor_num
from store.rollup_models import BIN_PHASES, HIST_BUCKETS, HIST_COLUMNS
from store.rollups import BINS, HOURLY, hour_of, percentile

PHASES = ("dns", "tcp", "tls", "ttfb", "download", "total")
COLUMNS = {p: getattr(CheckResult, f"{p}_ms") for p in PHASES}


def bucket_seconds(hours: int) -> int:
    """Time-series resolution: about 60-170 points whatever the range."""
    if hours <= 1:
        return 60
    if hours <= 6:
        return 300
    if hours <= 24:
        return 900
    return 3600


def _scope(monitor_id: str, since: datetime) -> list[ColumnElement[bool]]:
    # Timings of failed checks (timeouts, refusals) would distort the picture.
    return [
        CheckResult.monitor_num == monitor_num(monitor_id),
        CheckResult.checked_at >= since,
        CheckResult.status != "DOWN",
    ]


def _epoch(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", CheckResult.checked_at)
    return cast(func.strftime("%s", CheckResult.checked_at), Integer)


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


async def performance(
    session: AsyncSession, monitor_id: str, *, since: datetime, hours: int
) -> dict[str, Any]:
    """Averages, p95 and a time series of the phases and size since ``since``."""
    dialect = session.get_bind().dialect.name
    where = _scope(monitor_id, since)
    averages = (
        await session.execute(
            select(
                *(func.avg(c) for c in COLUMNS.values()),
                func.avg(CheckResult.size_bytes),
                func.count(),
            ).where(*where)
        )
    ).one()
    p95 = await _p95(session, where, dialect)
    step = bucket_seconds(hours)
    bucket = (func.floor(cast(_epoch(dialect), Float) / step) * step).label("bucket")
    series = await session.execute(
        select(
            bucket,
            *(func.avg(c) for c in COLUMNS.values()),
            func.avg(CheckResult.size_bytes),
        )
        .where(*where)
        .group_by(literal_column("bucket"))
        .order_by(literal_column("bucket"))
    )
    return {
        "averages": {
            **{p: _round(v) for p, v in zip(PHASES, averages[:6], strict=True)},
            "size": None if averages[6] is None else round(float(averages[6])),
        },
        "p95": p95,
        "timeSeries": [
            {
                "timestamp": datetime.fromtimestamp(float(row[0]), UTC),
                **{p: _round(v) for p, v in zip(PHASES, row[1:7], strict=True)},
                "size": None if row[7] is None else round(float(row[7])),
            }
            for row in series
        ],
        "sampleCount": int(averages[7]),
    }


def _rollup_statements() -> tuple[Select[Any], Select[Any], Select[Any]]:
    # Built once: composing 70 aggregate expressions cost more than running them.
    t = HOURLY.c
    scope = (t.monitor_id == bindparam("monitor_id"), t.bucket_at >= bindparam("since"))
    sums = [func.sum(t[f"{p}_sum"]) for p in PHASES] + [func.sum(t.size_sum)]
    counts = [func.sum(t[f"{p}_count"]) for p in PHASES] + [func.sum(t.size_count)]
    hours = (
        select(t.bucket_at, *sums, *counts, func.sum(t.checks - t.down))
        .where(*scope)
        .group_by(t.bucket_at)
        .order_by(t.bucket_at)
    )
    total = select(
        *(func.sum(t[c]) for c in HIST_COLUMNS), func.min(t.total_min), func.max(t.total_max)
    ).where(*scope)
    b = BINS.c
    phases = (
        select(b.phase, b.bin, func.sum(b.n), func.min(b.lo), func.max(b.hi))
        .where(
            b.monitor_num
            == select(Monitor.num).where(Monitor.id == bindparam("monitor_id")).scalar_subquery(),
            b.bucket_at >= bindparam("since"),
        )
        .group_by(b.phase, b.bin)
    )
    return hours, total, phases


_HOURS, _TOTAL_HIST, _PHASE_HISTS = _rollup_statements()


async def performance_from_rollups(
    session: AsyncSession, monitor_id: str, *, since: datetime
) -> dict[str, Any]:
    """As ``performance``, for ranges of whole hours (from ``since``'s hour), from the
    hourly rollups only: averages, the hourly series, and p95 read from the histograms
    (total time's in the rollups, the other phases' in ``PhaseBins``), within
    ``HIST_ERROR`` of the exact value."""
    params = {"monitor_id": monitor_id, "since": hour_of(since)}
    rows = await session.execute(_HOURS, params)
    names = [*PHASES, "size"]
    series = []
    totals = dict.fromkeys(names, 0.0)
    numbers = dict.fromkeys(names, 0)
    samples = 0
    for row in rows:
        point: dict[str, Any] = {"timestamp": utc(row[0])}
        for i, name in enumerate(names):
            total, n = float(row[1 + i] or 0), int(row[8 + i] or 0)
            totals[name] += total
            numbers[name] += n
            point[name] = _mean(total, n, size=name == "size")
        kept = int(row[15] or 0)
        samples += kept
        # As from raw rows: an hour of DOWN checks only has no point.
        if kept:
            series.append(point)
    hists = {p: [0] * HIST_BUCKETS for p in PHASES}
    bounds: dict[str, list[tuple[float, float] | None]] = {p: [None] * HIST_BUCKETS for p in PHASES}
    *counts, low, high = (await session.execute(_TOTAL_HIST, params)).one()
    hists["total"] = [int(n or 0) for n in counts]
    if low is not None:
        bounds["total"] = [(float(low), float(high))] * HIST_BUCKETS
    for phase, k, n, lo, hi in await session.execute(_PHASE_HISTS, params):
        hists[BIN_PHASES[phase]][k] = int(n)
        bounds[BIN_PHASES[phase]][k] = (float(lo), float(hi))
    p95 = {p: _round(percentile(hists[p], 0.95, bounds=bounds[p])) for p in PHASES}
    return {
        "averages": {n: _mean(totals[n], numbers[n], size=n == "size") for n in names},
        "p95": p95,
        "timeSeries": series,
        "sampleCount": samples,
    }


def _mean(total: float, n: int, *, size: bool) -> float | int | None:
    if n == 0:
        return None
    return round(total / n) if size else round(total / n, 1)


async def _p95(
    session: AsyncSession, where: list[ColumnElement[bool]], dialect: str
) -> dict[str, float | None]:
    if dialect == "postgresql":
        row = (
            await session.execute(
                select(
                    *(func.percentile_cont(0.95).within_group(c) for c in COLUMNS.values())
                ).where(*where)
            )
        ).one()
        return {p: _round(v) for p, v in zip(PHASES, row, strict=True)}
    # SQLite has no percentile function: nearest rank, one indexed query per phase.
    counts = (
        await session.execute(select(*(func.count(c) for c in COLUMNS.values())).where(*where))
    ).one()
    out: dict[str, float | None] = {}
    for phase, n in zip(PHASES, counts, strict=True):
        if not n:
            out[phase] = None
            continue
        column = COLUMNS[phase]
        value = await session.scalar(
            select(column)
            .where(*where, column.is_not(None))
            .order_by(column)
            .offset(math.ceil(0.95 * n) - 1)
            .limit(1)
        )
        out[phase] = _round(value)
    return out
