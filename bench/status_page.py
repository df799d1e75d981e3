"""Server time of a 50-component status page over a year of data for 1,000 monitors.

python -m bench.status_page \\
    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/vigil_bench_sp \\
    [--monitors 1000] [--components 50] [--every-min 60] [--runs 20]

The database is dropped, created and migrated, then filled in SQL: ``--monitors``
monitors with a check result every ``--every-min`` minutes for 365 days and a
10-minute incident every week each, and one page whose components are the first
``--components`` monitors. The page's documents are then asked for in this process
through the ASGI app (no network), started as ``vigil api`` starts it (bootstrap's
first connection, ``prepare_app``, heap settled): "cold" is the first request after the
app starts (a new store and app: empty render and statement caches), "warm" the median
of ``--runs`` later requests that still render from the store (``fresh_s`` 0), and
"cached" a request answered from the kept rendering. The last line printed is one JSON object.
``--reuse`` measures the database an earlier run seeded (seeding takes minutes).

The rollups the pages read (``pages/uptime_source.py`` through ``store.uptime``) are
then summed from those rows in SQL (``bench.readside``), as the writer keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from api.main import create_app, prepare_app
from bench.checks import fresh_database
from bench.readside import conninfo, daily_from_hourly, hourly_from_raw
from store.bootstrap import bootstrap
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.orgs import create_org
from store.status_pages import ComponentSpec, create_page
from workers.serve import settle_heap

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def fill(sync_url: str, org_id: str, *, monitors: int, every_min: int) -> dict[str, int]:
    """Monitors, a year of results and weekly incidents, written by the database itself."""
    start = NOW - timedelta(days=365)
    engine = create_engine(sync_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO monitors (id, org_id, name, url, type, interval_s, is_active, method,"
                " timeout_s, regions, config, failure_threshold, recovery_threshold,"
                " region_quorum, created_at, updated_at)"
                " SELECT 'mon_bench' || lpad(n::text, 7, '0'), :org, 'Service ' || n,"
                " 'https://svc' || n || '.example.com', 'HTTP', 60, true, 'GET', 30,"
                " '[\"local\"]'::jsonb, '{}'::jsonb, 2, 1, 1, :start, :start"
                " FROM generate_series(1, :n) AS n"
            ),
            {"org": org_id, "start": start, "n": monitors},
        )
        results = conn.execute(
            text(
                "INSERT INTO check_results (monitor_num, region, status, checked_at,"
                " response_time_ms, status_code, total_ms)"
                " SELECT m.num, 'local', CASE WHEN random() < 0.002 THEN 'DOWN' ELSE 'UP' END,"
                " ts, (40 + random() * 260)::int, 200, 100"
                " FROM monitors m CROSS JOIN generate_series(:start, :now,"
                " make_interval(mins => :every)) AS ts"
            ),
            {"start": start, "now": NOW, "every": every_min},
        ).rowcount
        incidents = conn.execute(
            text(
                "INSERT INTO incidents (id, org_id, monitor_id, started_at, resolved_at, cause,"
                " regions, is_active, in_maintenance)"
                " SELECT 'inc_' || left(md5(m.id || ts::text), 28), m.org_id, m.id, ts,"
                " ts + interval '10 minutes', 'HTTP 503', '[\"local\"]'::jsonb, false, false"
                " FROM monitors m CROSS JOIN generate_series(:start, :now - interval '1 day',"
                " interval '7 days') AS ts"
            ),
            {"start": start + timedelta(hours=3), "now": NOW},
        ).rowcount
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"checkResults": int(results), "incidents": int(incidents)}


async def _time(client: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    response = await client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return elapsed


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    if args.reuse:
        store = Store(url)
        async with store.sessions() as session:
            page_id = await session.scalar(text("SELECT id FROM status_pages WHERE slug = 'bench'"))
            assert page_id is not None, "nothing seeded yet: run without --reuse first"
            component = f"/status/bench/badges/{await _first_component(session, page_id)}"
        await store.close()
        figures: dict[str, Any] = {"monitors": args.monitors, "components": args.components}
    else:
        component, figures = await _seed(url, args)
    return await _measure_documents(url, args, component, figures)


async def _seed(url: str, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    sync = fresh_database(url)
    store = Store(url)
    async with store.transaction() as session:
        org, _ = await create_org(
            session,
            name="Bench",
            slug="bench",
            plan="ENTERPRISE",
            owner_email="b@bench",
            now=NOW,
            trusted=True,
        )
    rows = fill(sync, org.id, monitors=args.monitors, every_min=args.every_min)
    # The pages read the rollups (as the result writer keeps them): summed from the rows.
    began = time.perf_counter()
    with psycopg.connect(conninfo(sync), autocommit=True) as conn:
        hourly_from_raw(conn)
        daily_from_hourly(conn, since=NOW - timedelta(days=400))
        conn.execute("VACUUM ANALYZE")
    built_s = round(time.perf_counter() - began, 1)
    async with store.transaction() as session:
        page = await create_page(
            session,
            org.id,
            {"name": "Bench", "slug": "bench"},
            [
                ComponentSpec(f"mon_bench{n:07d}", f"Service {n}", group_name=f"Group {n % 5}")
                for n in range(1, args.components + 1)
            ],
            now=NOW,
        )
        component = f"/status/bench/badges/{(await _first_component(session, page.id))}"
    await store.close()

    figures: dict[str, Any] = {
        "monitors": args.monitors,
        "components": args.components,
        **rows,
        "rollupsBuiltS": built_s,
    }
    return component, figures


async def _measure_documents(
    url: str, args: argparse.Namespace, component: str, figures: dict[str, Any]
) -> dict[str, Any]:
    documents = {
        "html": "/status/bench",
        "summaryJson": "/status/bench/api/v2/summary.json",
        "badgeUptime90d": f"{component}/uptime-90d.svg",
        "badgeUptime24h": f"{component}/uptime-24h.svg",
    }
    for name, path in documents.items():
        # A new app and store per document: its first request is cold.
        settings = Settings(status_page_fresh_s=0, status_page_timeout_s=60)  # type: ignore[call-arg]
        store, app = await _started(url, settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            cold = await _time(client, path)
            warm = [await _time(client, path) for _ in range(args.runs)]
        await store.close()
        figures[f"{name}ColdMs"] = round(cold, 1)
        figures[f"{name}WarmMs"] = round(statistics.median(warm), 1)
        figures[f"{name}WarmP90Ms"] = round(sorted(warm)[int(0.9 * (len(warm) - 1))], 1)
    store, app = await _started(url, Settings())  # fresh_s 10: cached
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        await _time(client, "/status/bench")
        cached = [await _time(client, "/status/bench") for _ in range(args.runs)]
    await store.close()
    figures["htmlCachedMs"] = round(statistics.median(cached), 2)
    return figures


async def _started(url: str, settings: Settings) -> tuple[Store, FastAPI]:
    """A store and app, started as ``vigil api`` starts them (``workers/serve.py``)."""
    store = Store(url)
    # A no-op on a seeded store but for its first connection, as in a server.
    await bootstrap(store, settings, now=NOW)
    app = create_app(settings, store=store, clock=FrozenClock(NOW))
    prepare_app(app)
    settle_heap()
    return store, app


async def _first_component(session: Any, page_id: str) -> str:
    found = await session.scalar(
        text("SELECT id FROM status_page_components WHERE page_id = :p ORDER BY position LIMIT 1"),
        {"p": page_id},
    )
    return str(found)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/vigil_bench_sp"
    )
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--every-min", type=int, default=60)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database an earlier run seeded"
    )
    args = parser.parse_args()
    figures = asyncio.run(measure(args.database_url, args))
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
