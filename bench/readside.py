"""The read side at scale: raw row size, aggregate latencies, dropping a day, writer cost.

python -m bench.readside --monitors 1000 --days 7 \\
    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/vigil_readside

PostgreSQL only. The database is dropped, created and migrated; then seeded in SQL
(``generate_series``, one statement per day): N HTTP monitors with one raw result a
minute for the last D days (0.15 % DOWN with an error and details, the rest plain UP
rows), their hourly rollups aggregated from those rows, daily rollups for a year
(synthetic before the raw days) and an incident a month per monitor. Each figure
is the median of repeated calls after a warm-up; the API ones go through the ASGI
app in-process (auth included), the 50-monitor uptime calls ``daily_uptime``.

``--reuse`` measures a database an earlier run seeded (seeding 10 M rows takes a
while), with the clock at the minute after its newest raw result, so that every run
reads the same rows. Then, unless ``--skip-drop``, one whole day of raw results is
dropped by the retention pass (a partition; the oldest, partial day goes first), and
unless ``--skip-worker``, ``bench/checks.py`` runs twice, with and without rollups,
for the worker's top HTTP rate. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from api.main import create_app
from bench.checks import fresh_database
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store, sync_url
from store.keys import create_key
from store.models import CheckResult, Organization
from store.orgs import create_org, owner_of
from store.retention import apply_retention
from store.rollup_models import BIN_PHASES, HIST_BUCKETS
from store.rollups import day_of, hour_of
from store.uptime import daily_uptime

ROOT = Path(__file__).resolve().parents[1]
REGION = "bench"
PHASES = ("dns", "tcp", "tls", "ttfb", "download", "total")


def conninfo(sync: str) -> str:
    u = make_url(sync)
    return (
        f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username} dbname={u.database}"
    )


def _bucket_sql(column: str) -> str:
    return (
        f"least({HIST_BUCKETS - 1}, greatest(0, "
        f"CASE WHEN {column} < 1 THEN 0 ELSE floor(ln({column}) / ln(1.25))::int + 1 END))"
    )


def _hist_sql(column: str) -> str:
    bucket = _bucket_sql(column)
    return ", ".join(
        f"count(*) FILTER (WHERE status <> 'DOWN' AND {bucket} = {k})" for k in range(HIST_BUCKETS)
    )


def seed(
    conn: psycopg.Connection[Any], org_id: str, *, monitors: int, days: int, now: datetime
) -> int:
    """Monitors, raw results, rollups and incidents; returns the raw row count."""
    born = now - timedelta(days=400)
    conn.execute(
        "INSERT INTO monitors (id, org_id, name, url, type, interval_s, is_active, method, "
        "timeout_s, regions, config, failure_threshold, recovery_threshold, region_quorum, "
        "created_at, updated_at) SELECT 'mon_' || lpad(n::text, 16, '0'), %s, 'site ' || n, "
        "'http://127.0.0.1:9/', 'HTTP', 60, true, 'GET', 10, %s, '{}', 2, 1, 1, %s, %s "
        "FROM generate_series(1, %s) n",
        (org_id, json.dumps([REGION]), born, born, monitors),
    )
    start = now - timedelta(days=days)
    day = start
    while day < now:
        end = min(day_of(day) + timedelta(days=1), now)
        t0 = time.monotonic()
        # One row a minute per monitor; DOWN when a hash of (monitor, minute) says so.
        conn.execute(
            "INSERT INTO check_results (checked_at, response_time_ms, status_code, dns_ms, "
            "tcp_ms, tls_ms, ttfb_ms, download_ms, total_ms, size_bytes, lateness_ms, "
            "monitor_num, region, status, error, details) "
            "SELECT ts + (n %% 60) * interval '1 second', "
            "CASE WHEN down THEN NULL ELSE round(total)::int END, "
            "CASE WHEN down THEN 503 ELSE 200 END, 1 + r * 2, 2 + r * 3, 4 + r * 6, "
            "total - 12 - r * 11, 1 + r, total, 1024 + (n %% 512), (r * 40)::int, "
            "num, %s, CASE WHEN down THEN 'DOWN' ELSE 'UP' END, "
            "CASE WHEN down THEN 'Expected status 200, got 503' END, "
            "CASE WHEN down THEN jsonb_build_object('body', 'upstream unavailable', "
            "'responseHeaders', jsonb_build_object('content-type', 'text/plain')) END "
            "FROM (SELECT ts, n, num, r, 20 + r * 80 + (n %% 50) AS total, "
            "abs(hashint8(extract(epoch FROM ts)::bigint * 100003 + n) %% 1000) < 2 AS down "
            "FROM generate_series(%s::timestamptz, %s::timestamptz - interval '1 minute', "
            "interval '1 minute') ts "
            "CROSS JOIN (SELECT substr(id, 5)::int AS n, num FROM monitors) m "
            # r: a spread in [0, 1) drawn afresh for every row (a hash of monitor and
            # minute, so that every seeding run writes the same values).
            "CROSS JOIN LATERAL (SELECT (abs(hashint8(extract(epoch FROM ts)::bigint * 7919 "
            "+ n)) %% 10007) / 10007.0::float8 AS r) x) g "
            # In time order, monitors interleaved, as workers write them.
            "ORDER BY ts, n",
            (REGION, max(day, start), end),
        )
        print(f"  raw {day:%Y-%m-%d}: {time.monotonic() - t0:.1f} s", flush=True)
        day = end
    t0 = time.monotonic()
    hourly_from_raw(conn)
    phase_bins_from_raw(conn)
    month = month_of_hourly(conn, now=now, start=start)
    # A year of daily rollups before that: 1,440 checks a day, now and then a DOWN.
    hist = ", ".join(f"h{k:02d}" for k in range(HIST_BUCKETS))
    phase_cols = ", ".join(f"{p}_sum, {p}_count" for p in PHASES)
    zeros = ", ".join("0" if k != 20 else "1438" for k in range(HIST_BUCKETS))
    conn.execute(
        f"INSERT INTO check_rollups_daily (monitor_id, region, bucket_at, checks, up, degraded, "
        f"down, maintenance, hours_mask, {phase_cols}, size_sum, size_count, total_min, "
        f"total_max, {hist}) "
        f"SELECT m.id, %s, d, 1440, 1440 - (d::date - '2000-01-01' + length(m.id)) %% 3, 0, "
        f"(d::date - '2000-01-01' + length(m.id)) %% 3, 0, 16777215, "
        + ", ".join(f"{1438 * (5 + i)}, 1438" for i, _ in enumerate(PHASES))
        + f", 1472512, 1438, 12, 900, {zeros} "
        f"FROM monitors m CROSS JOIN generate_series(%s::timestamptz, %s::timestamptz, "
        f"interval '1 day') d",
        (REGION, day_of(now) - timedelta(days=365), month - timedelta(days=1)),
    )
    # An incident a month per monitor, 3 to 30 minutes.
    conn.execute(
        "INSERT INTO incidents (id, org_id, monitor_id, started_at, resolved_at, cause, regions, "
        "is_active, in_maintenance) SELECT 'inc_' || m.id || '_' || k, m.org_id, m.id, "
        "%s - k * interval '30 days' + (length(m.id) * 37 %% 1440) * interval '1 minute', "
        "%s - k * interval '30 days' + (length(m.id) * 37 %% 1440 + 3 + k) * interval '1 minute', "
        "'Expected status 200, got 503', '[]', false, false "
        "FROM monitors m CROSS JOIN generate_series(1, 12) k",
        (now, now),
    )
    lay_out_rollups(conn)
    print(f"  rollups and incidents: {time.monotonic() - t0:.1f} s", flush=True)
    conn.execute("VACUUM ANALYZE")
    count = conn.execute("SELECT count(*) FROM check_results").fetchone()
    return int(count[0]) if count else 0


def month_of_hourly(conn: psycopg.Connection[Any], *, now: datetime, start: datetime) -> datetime:
    """Hourly rollups for the month before the raw days (60 checks an hour, the day's
    DOWNs in its first hour), and the daily rows of every day with hourly ones, summed
    from them; returns the first such day. The dashboard's 30 days begin in that month,
    and hourly rollups are kept 400 days: its first, partial day reads hourly rows."""
    first = day_of(now) - timedelta(days=31)
    down = (
        "CASE WHEN extract(hour FROM h) = 0 "
        "THEN (h::date - '2000-01-01' + length(m.id)) %% 3 ELSE 0 END"
    )
    hist = ", ".join(f"h{k:02d}" for k in range(HIST_BUCKETS))
    counts = ", ".join("n" if k == 20 else "0" for k in range(HIST_BUCKETS))
    conn.execute(
        "INSERT INTO check_rollups_hourly (monitor_id, region, bucket_at, checks, up, degraded, "
        "down, maintenance, hours_mask, "
        + ", ".join(f"{p}_sum, {p}_count" for p in PHASES)
        + f", size_sum, size_count, total_min, total_max, {hist}) "
        f"SELECT id, %s, h, 60, n, 0, 60 - n, 0, 1 << extract(hour FROM h)::int, "
        + ", ".join(f"n * {5 + i}, n" for i, _ in enumerate(PHASES))
        + f", n * 1024, n, 12, 900, {counts} "
        f"FROM (SELECT m.id, h, 60 - {down} AS n FROM monitors m CROSS JOIN "
        f"generate_series(%s::timestamptz, %s::timestamptz - interval '1 hour', "
        f"interval '1 hour') h) g",
        (REGION, first, hour_of(start)),
    )
    daily_from_hourly(conn, since=first)
    return first


def hourly_from_raw(conn: psycopg.Connection[Any]) -> None:
    """Hourly rollups of every raw result, summed as the result writer sums them."""
    sums = ", ".join(
        f"coalesce(sum({p}_ms) FILTER (WHERE status <> 'DOWN'), 0), "
        f"count({p}_ms) FILTER (WHERE status <> 'DOWN')"
        for p in PHASES
    )
    hist = ", ".join(f"h{k:02d}" for k in range(HIST_BUCKETS))
    phase_cols = ", ".join(f"{p}_sum, {p}_count" for p in PHASES)
    conn.execute(
        f"INSERT INTO check_rollups_hourly (monitor_id, region, bucket_at, checks, up, degraded, "
        f"down, maintenance, hours_mask, {phase_cols}, size_sum, size_count, total_min, "
        f"total_max, {hist}) "
        f"SELECT m.id, region, date_trunc('hour', checked_at), count(*), "
        f"count(*) FILTER (WHERE status = 'UP'), count(*) FILTER (WHERE status = 'DEGRADED'), "
        f"count(*) FILTER (WHERE status = 'DOWN'), 0, "
        f"1 << extract(hour FROM date_trunc('hour', checked_at))::int, {sums}, "
        f"coalesce(sum(size_bytes) FILTER (WHERE status <> 'DOWN'), 0), "
        f"count(size_bytes) FILTER (WHERE status <> 'DOWN'), "
        f"min(total_ms) FILTER (WHERE status <> 'DOWN'), "
        f"max(total_ms) FILTER (WHERE status <> 'DOWN'), {_hist_sql('total_ms')} "
        f"FROM check_results JOIN monitors m ON m.num = monitor_num GROUP BY 1, 2, 3"
    )


def phase_bins_from_raw(conn: psycopg.Connection[Any]) -> None:
    """The per-phase histogram counts of every raw result, as the result writer keeps them."""
    phases = ", ".join(f"({i}, {p}_ms)" for i, p in enumerate(BIN_PHASES))
    conn.execute(
        "INSERT INTO check_phase_bins_hourly (monitor_num, bucket_at, phase, bin, n, lo, hi) "
        f"SELECT monitor_num, date_trunc('hour', checked_at), v.phase, {_bucket_sql('v.ms')}, "
        "count(*), min(v.ms), max(v.ms) "
        f"FROM check_results CROSS JOIN LATERAL (VALUES {phases}) AS v(phase, ms) "
        "WHERE status <> 'DOWN' AND v.ms IS NOT NULL GROUP BY 1, 2, 3, 4"
    )


def daily_from_hourly(conn: psycopg.Connection[Any], *, since: datetime) -> None:
    """The daily rollups from ``since`` on, summed from the hourly ones."""
    conn.execute("DELETE FROM check_rollups_daily WHERE bucket_at >= %s", (since,))
    conn.execute(
        "INSERT INTO check_rollups_daily SELECT monitor_id, region, "
        "date_trunc('day', bucket_at), sum(checks), sum(up), sum(degraded), sum(down), "
        "sum(maintenance), bit_or(hours_mask), "
        + ", ".join(f"sum({p}_sum), sum({p}_count)" for p in PHASES)
        + ", sum(size_sum), sum(size_count), min(total_min), max(total_max), "
        + ", ".join(f"sum(h{k:02d})" for k in range(HIST_BUCKETS))
        + " FROM check_rollups_hourly WHERE bucket_at >= %s GROUP BY 1, 2, 3",
        (since,),
    )


def lay_out_rollups(conn: psycopg.Connection[Any]) -> None:
    """Rewrite the rollup tables in the order the writer leaves them: by bucket, the
    monitors of one bucket in no particular order (a row is created by a bucket's first
    check). Summed with GROUP BY they would lie monitor by monitor, and a status page's
    monitors would read a few pages instead of one a day each."""
    for table in ("check_rollups_hourly", "check_rollups_daily"):
        conn.execute(
            f"CREATE TEMP TABLE laid_out AS SELECT * FROM {table} "
            "ORDER BY bucket_at, md5(monitor_id || bucket_at::text)"
        )
        conn.execute(f"DELETE FROM {table}")
        conn.execute(f"INSERT INTO {table} SELECT * FROM laid_out")
        conn.execute("DROP TABLE laid_out")
        conn.execute(f"VACUUM FULL {table}")


def _scalar(conn: psycopg.Connection[Any], sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def raw_bytes(conn: psycopg.Connection[Any]) -> int:
    return _scalar(
        conn,
        "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
        "WHERE inhparent = 'check_results'::regclass",
    )


async def median_ms(call: Callable[[], Awaitable[Any]], *, runs: int = 15) -> float:
    for _ in range(3):
        await call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1)


async def _seeded_now(store: Store) -> datetime:
    """The seeding run's clock: the minute after the newest raw result."""
    async with store.sessions() as session:
        newest = await session.scalar(select(func.max(CheckResult.checked_at)))
    assert newest is not None, "nothing seeded yet: run without --reuse first"
    return newest.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)


async def _reuse(store: Store, now: datetime) -> tuple[str, int]:
    """A key for the seeded organization of an earlier run, and its raw row count."""
    async with store.transaction() as session:
        org = await session.scalar(select(Organization).where(Organization.slug == "bench"))
        assert org is not None, "nothing seeded yet: run without --reuse first"
        owner = await owner_of(session, org.id)
        assert owner is not None
        _, key = await create_key(session, org_id=org.id, user_id=owner, name="bench", now=now)
        rows = await session.scalar(select(func.count()).select_from(CheckResult))
    return key, int(rows or 0)


async def measure(
    sync: str, *, monitors: int, days: int, reuse: bool, drop: bool
) -> dict[str, Any]:
    store = Store(sync)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    if reuse:
        now = await _seeded_now(store)
        key, rows = await _reuse(store, now)
        with psycopg.connect(conninfo(sync), autocommit=True) as conn:
            size = raw_bytes(conn)
    else:
        async with store.transaction() as session:
            org, key = await create_org(
                session,
                name="Bench",
                slug="bench",
                plan="ENTERPRISE",
                owner_email="b@x.test",
                now=now,
                trusted=True,
            )
        # Partitions for every raw day, as housekeeping keeps them.
        await apply_retention(store, now=now, days=days + 1)
        t0 = time.monotonic()
        with psycopg.connect(conninfo(sync), autocommit=True) as conn:
            rows = seed(conn, org.id, monitors=monitors, days=days, now=now)
            size = raw_bytes(conn)
        print(f"seeded {rows} raw rows in {time.monotonic() - t0:.0f} s", flush=True)

    app = create_app(Settings(VIGIL_REGIONS=REGION), store=store, clock=FrozenClock(now))  # type: ignore[call-arg]
    headers = {"Authorization": f"Bearer {key}"}
    first = "mon_" + "1".rjust(16, "0")
    fifty = ["mon_" + str(n).rjust(16, "0") for n in range(1, min(50, monitors) + 1)]
    figures: dict[str, Any] = {"monitors": monitors, "days": days, "raw_rows": rows}
    figures["raw_bytes_per_row"] = round(size / rows, 1) if rows else None
    with psycopg.connect(conninfo(sync), autocommit=True) as conn:
        figures["phase_bins_mb"] = round(
            _scalar(conn, "SELECT pg_total_relation_size('check_phase_bins_hourly')") / 2**20, 1
        )
        bins = "FROM check_phase_bins_hourly"
        figures["phase_bins_rows_per_monitor_hour"] = round(
            _scalar(conn, f"SELECT count(*) {bins}")
            / max(1, _scalar(conn, f"SELECT count(DISTINCT (monitor_num, bucket_at)) {bins}")),
            1,
        )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:

        def get(path: str) -> Callable[[], Awaitable[Any]]:
            async def call() -> None:
                r = await client.get(path, headers=headers)
                assert r.status_code == 200, r.text

            return call

        figures["dashboard_stats_ms"] = await median_ms(get("/api/dashboard/stats"))
        figures["performance_24h_ms"] = await median_ms(
            get(f"/api/monitors/{first}/performance?hours=24")
        )
        figures["performance_7d_ms"] = await median_ms(
            get(f"/api/monitors/{first}/performance?hours=168")
        )
        figures["uptime_90d_ms"] = await median_ms(get(f"/api/monitors/{first}/uptime?period=90d"))

    async def status_page() -> None:
        async with store.sessions() as session:
            found = await daily_uptime(session, fifty, days=90, now=now)
            assert len(found) == len(fifty)

    figures["uptime_90d_50_monitors_ms"] = await median_ms(status_page)
    if drop:
        # Drop the partial oldest day first, then time dropping one whole day.
        await apply_retention(store, now=now, days=days - 1)
        t0 = time.perf_counter()
        done = await apply_retention(store, now=now, days=days - 2)
        figures["drop_one_day_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        figures["partitions_dropped"] = done.partitions_dropped
    await store.close()
    return figures


def worker_rate(url: str, *, monitors: int, seconds: float, rollups: bool) -> dict[str, Any]:
    command = [
        *(sys.executable, "-m", "bench.checks", "--database-url", url),
        *("--monitors", str(monitors), "--interval", "30", "--seconds", str(seconds)),
        # A long lead-in: on a loaded machine the worker takes a while to start.
        *("--baseline-seconds", "1", "--lead-in", "30"),
    ]
    if not rollups:
        command.append("--no-rollups")
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"bench.checks failed ({out.returncode}): {out.stderr[-1500:]}")
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--skip-worker", action="store_true")
    parser.add_argument(
        "--skip-drop", action="store_true", help="keep every raw day (for repeated --reuse runs)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database an earlier run seeded"
    )
    parser.add_argument("--worker-monitors", type=int, default=10_000)
    parser.add_argument("--worker-seconds", type=float, default=40)
    args = parser.parse_args()
    if make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("bench/readside.py measures PostgreSQL: give a postgresql+psycopg:// URL")
    if args.days < 3:
        parser.error("--days must be at least 3 (a whole day is dropped at the end)")

    sync = sync_url(args.database_url) if args.reuse else fresh_database(args.database_url)
    figures = asyncio.run(
        measure(
            sync, monitors=args.monitors, days=args.days, reuse=args.reuse, drop=not args.skip_drop
        )
    )
    # The read side's figures first: the worker runs take minutes and may fail.
    print(json.dumps(figures), flush=True)
    if not args.skip_worker:
        base = make_url(sync)
        wurl = base.set(database=f"{base.database}_worker").render_as_string(hide_password=False)
        for rollups in (True, False):
            run = worker_rate(
                wurl, monitors=args.worker_monitors, seconds=args.worker_seconds, rollups=rollups
            )
            suffix = "on" if rollups else "off"
            figures[f"worker_checks_per_s_rollups_{suffix}"] = run["checks_per_s"]
            figures[f"worker_cpu_s_per_1000_rollups_{suffix}"] = run["cpu_s_per_1000_checks"]
            print(f"  worker, rollups {suffix}: {run}", flush=True)
    print(
        f"{figures['monitors']} monitors x {figures['days']} days: "
        f"{figures['raw_bytes_per_row']} B/raw row (target <= 160), "
        f"dashboard {figures['dashboard_stats_ms']} ms (< 50), "
        f"performance 24 h {figures['performance_24h_ms']} ms, "
        f"7 d {figures['performance_7d_ms']} ms (< 30), "
        f"uptime 90 d {figures['uptime_90d_ms']} ms, "
        f"50 monitors {figures['uptime_90d_50_monitors_ms']} ms (< 50), "
        f"drop a day {figures.get('drop_one_day_ms')} ms (< 1000)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
