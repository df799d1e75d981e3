"""How long results are kept, and on PostgreSQL the daily partitions of ``check_results``.

Raw results are kept ``VIGIL_RESULT_RETENTION_DAYS`` whole UTC days before today
(default 30): everything from ``day_of(now) - days`` on stays, everything older goes.
Hourly rollups are kept 400 days the same way, the per-phase histograms
(``PhaseBins``) 8 days; daily rollups for ever.

On PostgreSQL ``check_results`` is range-partitioned by UTC day
(``check_results_pYYYYMMDD``, plus a default partition for rows no day partition
takes). Housekeeping creates the partitions of the next days ahead (and of kept days
that lack one, taking their rows from the default partition), and a day past
retention is detached and dropped: the cost is the same whatever the volume and
nothing bloats. On SQLite old rows are deleted in bounded batches.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import utc
from store.db import Store
from store.models import CheckResult
from store.rollup_models import PHASE_BINS_KEEP_DAYS
from store.rollups import BINS, HOURLY, day_of

log = logging.getLogger(__name__)

HOURLY_KEEP_DAYS = 400
DAYS_AHEAD = 3
BATCH = 5000
# Batches per pass: a pass stays short, the next one goes on where it stopped.
MAX_BATCHES = 20
BIN_HOURS_PER_PASS = 8 * 24
PARTITION = re.compile(r"^check_results_p(\d{8})$")


def cutoff(now: datetime, days: int) -> datetime:
    """The oldest instant kept: the start of the UTC day ``days`` days before today."""
    return day_of(now) - timedelta(days=days)


def partition_name(day: date) -> str:
    return f"check_results_p{day:%Y%m%d}"


async def is_partitioned(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    kind = await session.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass('check_results')")
    )
    return bool(kind == "p")


async def partitions(session: AsyncSession) -> dict[date, str]:
    """The day partitions of ``check_results`` by their day."""
    names = await session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass('check_results')"
        )
    )
    out = {}
    for name in names:
        m = PARTITION.match(name)
        if m:
            out[datetime.strptime(m.group(1), "%Y%m%d").date()] = name
    return out


async def create_partition(session: AsyncSession, day: date) -> None:
    """A partition for ``day``, taking over that day's rows from the default partition.

    Rows land in the default partition when no day partition existed (housekeeping
    did not run for days): attaching moves them instead of failing.
    """
    name = partition_name(day)
    lo, hi = f"{day:%Y-%m-%d} 00:00:00+00", f"{day + timedelta(days=1):%Y-%m-%d} 00:00:00+00"
    await session.execute(
        text(f"CREATE TABLE {name} (LIKE check_results INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    )
    await session.execute(
        text(
            f"WITH moved AS (DELETE FROM check_results_default "
            f"WHERE checked_at >= '{lo}' AND checked_at < '{hi}' RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        )
    )
    await session.execute(
        text(
            f"ALTER TABLE check_results ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{lo}') TO ('{hi}')"
        )
    )


@dataclass
class RetentionPass:
    """What one pass did."""

    results_deleted: int = 0
    partitions_dropped: int = 0
    partitions_created: int = 0
    hourly_deleted: int = 0
    bins_deleted: int = 0


async def _delete_batches(session: AsyncSession, keep_from: datetime) -> int:
    deleted = 0
    old = CheckResult.checked_at < keep_from
    for _ in range(MAX_BATCHES):
        ids = select(CheckResult.id).where(old).limit(BATCH)
        # The time condition outside too: PostgreSQL then only looks at the partitions
        # that may hold old rows (there is no index on id across partitions).
        result = await session.execute(delete(CheckResult).where(old, CheckResult.id.in_(ids)))
        n = int(getattr(result, "rowcount", 0) or 0)
        deleted += n
        if n < BATCH:
            break
    return deleted


async def apply_retention(store: Store, *, now: datetime, days: int) -> RetentionPass:
    """One housekeeping pass: partitions ahead, raw results and hourly rollups past retention."""
    done = RetentionPass()
    keep_from = cutoff(now, days)
    async with store.transaction() as session:
        partitioned = await is_partitioned(session)
    if partitioned:
        async with store.transaction() as session:
            have = await partitions(session)
        # Every kept day has its partition: the next days ahead, and past days whose
        # rows went to the default partition (housekeeping was not running).
        for n in range(-days, DAYS_AHEAD + 1):
            day = (day_of(now) + timedelta(days=n)).date()
            if day not in have:
                async with store.transaction() as session:
                    await create_partition(session, day)
                done.partitions_created += 1
        for day, name in sorted(have.items()):
            if day < keep_from.date():
                async with store.transaction() as session:
                    await session.execute(
                        text(f"ALTER TABLE check_results DETACH PARTITION {name}")
                    )
                    await session.execute(text(f"DROP TABLE {name}"))
                done.partitions_dropped += 1
                log.info("dropped results partition %s (retention %d days)", name, days)
    # Whatever no day partition holds (SQLite: everything) goes in bounded batches.
    async with store.transaction() as session:
        done.results_deleted = await _delete_batches(session, keep_from)
    async with store.transaction() as session:
        result = await session.execute(
            delete(HOURLY).where(HOURLY.c.bucket_at < cutoff(now, HOURLY_KEEP_DAYS))
        )
        done.hourly_deleted = int(getattr(result, "rowcount", 0) or 0)
    done.bins_deleted = await _expire_bins(store, cutoff(now, PHASE_BINS_KEEP_DAYS))
    return done


async def _expire_bins(store: Store, keep_from: datetime) -> int:
    # A day of bins expires at once (a few dozen rows per monitor and hour): the
    # oldest hour left per transaction keeps each one short; a pass deletes up to
    # BIN_HOURS_PER_PASS of them (more than a day: it catches up after a pause).
    deleted = 0
    for _ in range(BIN_HOURS_PER_PASS):
        async with store.transaction() as session:
            oldest = await session.scalar(select(func.min(BINS.c.bucket_at)))
            if oldest is None or utc(oldest) >= keep_from:
                break
            upto = min(utc(oldest) + timedelta(hours=1), keep_from)
            result = await session.execute(delete(BINS).where(BINS.c.bucket_at < upto))
            deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted
