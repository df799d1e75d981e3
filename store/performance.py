"""Timing statistics of a monitor's checks, computed by the database."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Integer, Select, bindparam, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from store.clock import utc
from store.models import CheckResult, monitor_num
from store.rollups import HOURLY, hour_of

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


def _rollup_statements() -> Select[Any]:
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
    return hours


_HOURS = _rollup_statements()


async def performance_from_rollups(
    session: AsyncSession, monitor_id: str, *, since: datetime
) -> dict[str, Any]:
    """As ``performance``, for ranges of whole hours, from the hourly rollups only (from
    ``since``'s hour): averages and the hourly series. The rollups keep a histogram of
    total time only, so the p95 of every phase (the contract names them all) is read
    exactly from the raw rows of the range; it is most of the request's time."""
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
    dialect = session.get_bind().dialect.name
    p95 = await _p95(session, _scope(monitor_id, hour_of(since)), dialect)
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
