"""Keeping the rollup tables: incrementally in the result writer's transaction, or rebuilt.

``add_to_rollups`` is called by ``record_results`` with the rows it inserts: it sums
them per (monitor, region, hour) and per (monitor, region, UTC day) in Python and
applies one ``INSERT ... ON CONFLICT DO UPDATE`` per touched bucket, adding to the
counters; likewise the per-phase histogram counts (``PhaseBins``), per touched
(monitor, hour, phase, histogram bucket). Several workers of several regions may
write at once: each upsert is atomic on both stores, and the rows are written in key
order so that two writers touching the same buckets cannot deadlock.

``backfill`` rebuilds the rollups from the raw rows since a moment (``vigil rollup
--backfill``): it deletes the buckets from that day on and sums them again, so
running it twice gives the same rows.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import utc
from store.models import CheckResult, MaintenanceWindow, Monitor
from store.rollup_models import (
    BIN_PHASES,
    HIST_BUCKETS,
    HIST_COLUMNS,
    HIST_RATIO,
    PHASES,
    DailyRollup,
    HourlyRollup,
    PhaseBins,
)

HOURLY: Table = HourlyRollup.__table__  # type: ignore[assignment]
DAILY: Table = DailyRollup.__table__  # type: ignore[assignment]
BINS: Table = PhaseBins.__table__  # type: ignore[assignment]
COUNTERS = (
    "checks",
    "up",
    "degraded",
    "down",
    "maintenance",
    *(f"{p}_{x}" for p in PHASES for x in ("sum", "count")),
    "size_sum",
    "size_count",
    *HIST_COLUMNS,
)
_LOG_RATIO = math.log(HIST_RATIO)


def epoch_s(column: ColumnElement[Any], dialect: str) -> ColumnElement[int]:
    """Whole seconds since 1970 of a UTC timestamp column, computed by the store."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", column), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def hour_of(at: datetime) -> datetime:
    return utc(at).replace(minute=0, second=0, microsecond=0)


def day_of(at: datetime) -> datetime:
    return utc(at).replace(hour=0, minute=0, second=0, microsecond=0)


def hist_bucket(total_ms: float) -> int:
    """The histogram bucket of one time in ms (see ``store.rollup_models``)."""
    if total_ms < 1.0:
        return 0
    k = math.floor(math.log(total_ms) / _LOG_RATIO) + 1
    # Float rounding at a boundary (1.25**k) must not move a value to its neighbour.
    if total_ms >= HIST_RATIO**k:
        k += 1
    elif total_ms < HIST_RATIO ** (k - 1):
        k -= 1
    return min(k, HIST_BUCKETS - 1)


def percentile(
    counts: Sequence[int],
    q: float,
    *,
    bounds: Sequence[tuple[float, float] | None] | None = None,
) -> float | None:
    """The nearest-rank ``q`` quantile (0-1) read from histogram ``counts``, in ms.

    It is the geometric middle of the bucket holding that rank: within
    ``HIST_ERROR`` of the exact value for totals from 1 ms up (bucket 0 reads 0.5 ms).
    ``bounds``, per bucket, are times the exact value is known to lie between (the
    smallest and largest seen): the middle is kept between them, which never takes it
    further from the exact value and makes it exact when all times were the same.
    """
    n = sum(counts)
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    seen = 0
    for k, c in enumerate(counts):
        seen += c
        if seen >= rank:
            middle = 0.5 if k == 0 else float(HIST_RATIO ** (k - 0.5))
            within = bounds[k] if bounds is not None else None
            if within is None:
                return middle
            return min(max(middle, within[0]), within[1])
    raise AssertionError("unreachable: the ranks add up to n")


@dataclass(frozen=True)
class Sample:
    """What the rollups keep of one raw result."""

    monitor_id: str
    region: str
    status: str
    checked_at: datetime
    in_maintenance: bool
    timings: Mapping[str, float | None]
    size_bytes: int | None


Totals = dict[str, Any]


def _empty(monitor_id: str, region: str, bucket_at: datetime) -> Totals:
    row: Totals = dict.fromkeys(COUNTERS, 0)
    row.update(
        monitor_id=monitor_id,
        region=region,
        bucket_at=bucket_at,
        hours_mask=0,
        total_min=None,
        total_max=None,
    )
    for p in PHASES:
        row[f"{p}_sum"] = 0.0
    return row


def _add(row: Totals, s: Sample) -> None:
    row["checks"] += 1
    row[{"UP": "up", "DEGRADED": "degraded"}.get(s.status, "down")] += 1
    if s.in_maintenance:
        row["maintenance"] += 1
    row["hours_mask"] |= 1 << utc(s.checked_at).hour
    if s.status == "DOWN":
        return
    for p in PHASES:
        value = s.timings.get(p)
        if value is not None:
            row[f"{p}_sum"] += value
            row[f"{p}_count"] += 1
    if s.size_bytes is not None:
        row["size_sum"] += s.size_bytes
        row["size_count"] += 1
    total = s.timings.get("total")
    if total is not None:
        row[HIST_COLUMNS[hist_bucket(total)]] += 1
        row["total_min"] = total if row["total_min"] is None else min(row["total_min"], total)
        row["total_max"] = total if row["total_max"] is None else max(row["total_max"], total)


def summarize(samples: Iterable[Sample]) -> tuple[list[Totals], list[Totals]]:
    """Hourly and daily totals of ``samples``, each list in key order."""
    hours: dict[tuple[str, str, datetime], Totals] = {}
    days: dict[tuple[str, str, datetime], Totals] = {}
    for s in samples:
        for level, bucket in ((hours, hour_of(s.checked_at)), (days, day_of(s.checked_at))):
            key = (s.monitor_id, s.region, bucket)
            row = level.get(key)
            if row is None:
                row = level[key] = _empty(*key)
            _add(row, s)
    return [hours[k] for k in sorted(hours)], [days[k] for k in sorted(days)]


Bins = list[dict[str, Any]]


def phase_bins(rows: Iterable[Mapping[str, Any]]) -> Bins:
    """``PhaseBins`` counts of raw result rows (column names as in ``check_results``),
    in key order. DOWN checks are left out, as from every timing figure."""
    found: dict[tuple[int, datetime, int, int], list[Any]] = {}
    for r in rows:
        if r["status"] == "DOWN":
            continue
        hour = hour_of(r["checked_at"])
        for phase, name in enumerate(BIN_PHASES):
            value = r[f"{name}_ms"]
            if value is None:
                continue
            key = (r["monitor_num"], hour, phase, hist_bucket(value))
            seen = found.get(key)
            if seen is None:
                found[key] = [1, value, value]
            else:
                seen[0] += 1
                seen[1] = min(seen[1], value)
                seen[2] = max(seen[2], value)
    return [
        {
            "monitor_num": num,
            "bucket_at": hour,
            "phase": phase,
            "bin": k,
            "n": n,
            "lo": lo,
            "hi": hi,
        }
        for (num, hour, phase, k), (n, lo, hi) in sorted(found.items())
    ]


def _key(table: Table) -> list[str]:
    """The primary key's columns: what an upsert's conflict is on."""
    return [column.name for column in table.primary_key.columns]


@functools.cache
def _bins_upsert(dialect: str) -> Any:
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(BINS)
    c, new = BINS.c, ins.excluded
    return ins.on_conflict_do_update(
        index_elements=_key(BINS),
        set_={
            "n": c.n + new.n,
            "lo": case((new.lo < c.lo, new.lo), else_=c.lo),
            "hi": case((new.hi > c.hi, new.hi), else_=c.hi),
        },
    )


@functools.cache
def _upsert(dialect: str, table: Table) -> Any:
    """One statement per store and level, run with many parameter sets (cached compile)."""
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    new = ins.excluded
    c = table.c
    changes: dict[str, Any] = {name: c[name] + new[name] for name in COUNTERS}
    changes["hours_mask"] = c.hours_mask.op("|")(new.hours_mask)
    changes["total_min"] = case(
        (new.total_min.is_(None), c.total_min),
        (or_(c.total_min.is_(None), new.total_min < c.total_min), new.total_min),
        else_=c.total_min,
    )
    changes["total_max"] = case(
        (new.total_max.is_(None), c.total_max),
        (or_(c.total_max.is_(None), new.total_max > c.total_max), new.total_max),
        else_=c.total_max,
    )
    return ins.on_conflict_do_update(index_elements=_key(table), set_=changes)


async def _write(
    session: AsyncSession, hourly: list[Totals], daily: list[Totals], bins: Bins
) -> None:
    dialect = session.get_bind().dialect.name
    for table, rows in ((HOURLY, hourly), (DAILY, daily)):
        if rows:
            await session.execute(_upsert(dialect, table), rows)
    if bins:
        await session.execute(_bins_upsert(dialect), bins)


async def maintenance_spans(
    session: AsyncSession, monitor_ids: Iterable[str], *, since: datetime, until: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Enabled maintenance windows (org-wide or the monitor's) overlapping the span."""
    ids = list(set(monitor_ids))
    rows = await session.execute(
        select(Monitor.id, MaintenanceWindow.starts_at, MaintenanceWindow.ends_at)
        .join(
            MaintenanceWindow,
            and_(
                MaintenanceWindow.org_id == Monitor.org_id,
                or_(
                    MaintenanceWindow.monitor_id.is_(None),
                    MaintenanceWindow.monitor_id == Monitor.id,
                ),
            ),
        )
        .where(
            Monitor.id.in_(ids),
            MaintenanceWindow.is_active.is_(True),
            MaintenanceWindow.starts_at <= until,
            MaintenanceWindow.ends_at > since,
        )
    )
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for monitor_id, start, end in rows:
        spans.setdefault(monitor_id, []).append((utc(start), utc(end)))
    return spans


def _covered(spans: Sequence[tuple[datetime, datetime]], at: datetime) -> bool:
    return any(start <= at < end for start, end in spans)


def samples_of(
    rows: Iterable[Mapping[str, Any]],
    spans: Mapping[str, Sequence[tuple[datetime, datetime]]],
    monitor_ids: Mapping[int, str],
) -> list[Sample]:
    """Samples from raw result rows (column names as in ``check_results``); the rows
    name their monitor by ``monitor_num``, ``monitor_ids`` gives its id."""
    out = []
    for r in rows:
        at = utc(r["checked_at"])
        monitor_id = monitor_ids[r["monitor_num"]]
        out.append(
            Sample(
                monitor_id=monitor_id,
                region=r["region"],
                status=r["status"],
                checked_at=at,
                in_maintenance=_covered(spans.get(monitor_id, ()), at),
                timings={p: r[f"{p}_ms"] for p in PHASES},
                size_bytes=r["size_bytes"],
            )
        )
    return out


async def add_to_rollups(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], monitor_ids: Mapping[int, str]
) -> None:
    """Add freshly inserted raw result rows to the rollups, in the caller's transaction.

    ``monitor_ids`` maps the rows' ``monitor_num`` to the monitor's id (the rollups'
    key).

    ``VIGIL_ROLLUPS=off`` skips it, for ``bench/checks.py --no-rollups`` only: every
    aggregate the API serves is then wrong.
    """
    if not rows or os.environ.get("VIGIL_ROLLUPS") == "off":
        return
    times = [utc(r["checked_at"]) for r in rows]
    spans = await maintenance_spans(
        session, (monitor_ids[r["monitor_num"]] for r in rows), since=min(times), until=max(times)
    )
    await _write(session, *summarize(samples_of(rows, spans, monitor_ids)), phase_bins(rows))


_RAW = [
    CheckResult.monitor_num,
    CheckResult.region,
    CheckResult.status,
    CheckResult.checked_at,
    *(getattr(CheckResult, f"{p}_ms") for p in PHASES),
    CheckResult.size_bytes,
]


async def backfill(session: AsyncSession, *, since: datetime | None = None) -> int:
    """Rebuild every rollup from ``since``'s UTC day on from raw results; returns rows read.

    Without ``since``, from the day of the oldest raw result. Buckets older than raw
    retention must not be rebuilt (their raw rows are gone): keep ``since`` inside it.
    One monitor at a time, so memory stays bounded whatever the volume.
    """
    if since is None:
        oldest = await session.scalar(select(func.min(CheckResult.checked_at)))
        if oldest is None:
            return 0
        since = oldest
    start = day_of(since)
    await session.execute(delete(HOURLY).where(HOURLY.c.bucket_at >= start))
    await session.execute(delete(DAILY).where(DAILY.c.bucket_at >= start))
    await session.execute(delete(BINS).where(BINS.c.bucket_at >= start))
    nums = select(CheckResult.monitor_num).where(CheckResult.checked_at >= start).distinct()
    found = await session.execute(
        select(Monitor.id, Monitor.num).where(Monitor.num.in_(nums.scalar_subquery()))
    )
    far = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
    read = 0
    for monitor_id, num in sorted(found.all()):
        result = await session.execute(
            select(*_RAW)
            .where(CheckResult.monitor_num == num, CheckResult.checked_at >= start)
            # A fixed order: the float sums come out the same bits on every rebuild.
            .order_by(CheckResult.checked_at, CheckResult.id)
        )
        rows = [dict(r._mapping) for r in result]
        spans = await maintenance_spans(session, [monitor_id], since=start, until=far)
        await _write(
            session, *summarize(samples_of(rows, spans, {num: monitor_id})), phase_bins(rows)
        )
        read += len(rows)
    return read
