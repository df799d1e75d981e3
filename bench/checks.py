"""How many HTTP(S) checks one worker process sustains, and how late they start.

python -m bench.checks --monitors 10000 --interval 30 --seconds 60 \\
    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/vigil_bench [--https]

The database named in the URL is dropped and created again (PostgreSQL) or the
SQLite file replaced, then migrated. A loopback target (``bench.target``) runs in
its own process; for ``--https`` it serves a trustme certificate and the worker
trusts the CA through ``VIGIL_EXTRA_CA_FILE``. N monitors are inserted with their
first runs spread over the interval from a few seconds ahead, one ``vigil worker``
process runs them, and the figures cover the window of T seconds that starts at
the first slot. The worker's per-host limit is lifted (``VIGIL_WORKER_PER_HOST``)
because every monitor here targets the same host.

Lateness is the check's start minus its slot, as the worker records it in each
result's ``lateness_ms``. ``--no-rollups`` runs the writer without the rollups
(``VIGIL_ROLLUPS=off``), to measure what keeping them costs; ``--no-metrics`` runs it
with ``VIGIL_METRICS=off`` (every Prometheus metric a no-op), to measure theirs.
Worker CPU comes from
``/proc/<pid>/stat``.
For reference, the same target is then hit by a bare httpx loop (a fresh client,
so a fresh connection, per request) and a bare asyncio client, each at the same
concurrency for ``--baseline-seconds``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine, make_url

from store.base import new_id
from store.db import sync_url
from store.migrate import upgrade
from store.models import Monitor, MonitorSchedule, Organization
from store.schedules import first_run_offset
from store.secrets import attach, load_box

REGION = "bench"
# The benches' databases are throwaway: a fixed key lets every process they start
# read what the others encrypted (PostgreSQL needs one; docs/security.md).
os.environ.setdefault("VIGIL_SECRET_KEY", "YmVuY2gta2V5LWZvci10aHJvd2F3YXktZGF0YWJhc2U=")
ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def fresh_database(url: str) -> str:
    """Recreate the database ``url`` names and migrate it; returns the sync URL."""
    sync = sync_url(url)
    u = make_url(sync)
    if u.get_backend_name() == "sqlite":
        path = Path(u.database or "vigil_bench.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        admin = (
            f"host={u.host or '127.0.0.1'} port={u.port or 5432} "
            f"user={u.username or 'postgres'} dbname=postgres"
        )
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{u.database}"')
    upgrade(sync)
    return sync


def add_monitors(engine: Engine, count: int, *, url: str, interval_s: int, start: datetime) -> None:
    """Insert ``count`` HTTP monitors whose first slots spread over one interval."""
    org_id = new_id("org")
    monitors: list[dict[str, Any]] = []
    schedules: list[dict[str, Any]] = []
    for i in range(count):
        mid = new_id("mon")
        monitors.append(
            {
                "id": mid,
                "org_id": org_id,
                "name": f"bench {i}",
                "url": url,
                "type": "HTTP",
                "interval_s": interval_s,
                "is_active": True,
                "method": "GET",
                "timeout_s": 10,
                "regions": [REGION],
                "config": {},
                "failure_threshold": 2,
                "recovery_threshold": 1,
                "region_quorum": 1,
                "created_at": start,
                "updated_at": start,
            }
        )
        offset = first_run_offset(mid, REGION, interval_s)
        schedules.append(
            {
                "monitor_id": mid,
                "region": REGION,
                "next_run_at": start + timedelta(seconds=offset),
                "consecutive_failures": 0,
                "consecutive_successes": 0,
            }
        )
    with engine.begin() as conn:
        conn.execute(
            insert(Organization),
            [
                {
                    "id": org_id,
                    "name": "Bench",
                    "slug": org_id,
                    "plan": "ENTERPRISE",
                    "created_at": start,
                    "updated_at": start,
                    # The target is on loopback: only a trusted organization may check it.
                    "trusted": True,
                }
            ],
        )
        conn.execute(insert(Monitor), monitors)
        conn.execute(insert(MonitorSchedule), schedules)


def start_target(https: bool, workdir: Path) -> tuple[subprocess.Popen[str], str, Path | None]:
    """Start ``bench.target`` in its own process; returns it, its URL, and the CA file."""
    cmd = [sys.executable, "-m", "bench.target"]
    ca_file = None
    if https:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca_file = workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        cert.private_key_and_cert_chain_pem.write_to_path(str(workdir / "server.pem"))
        cmd += ["--cert", str(workdir / "server.pem"), "--key", str(workdir / "server.pem")]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise SystemExit(f"the benchmark target did not start (said {line!r})")
    scheme = "https" if https else "http"
    return proc, f"{scheme}://127.0.0.1:{int(line.split()[1])}/", ca_file


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sleep_until(when: datetime) -> None:
    time.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def window_results(engine: Engine, start: datetime, end: datetime) -> list[tuple[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, lateness_ms FROM check_results WHERE region = :r "
                "AND checked_at >= :a AND checked_at < :b"
            ).bindparams(r=REGION),
            {"a": start, "b": end},
        ).all()
    return [(s, {"latenessMs": lateness}) for s, lateness in rows]


async def _bare_loop(
    url: str, concurrency: int, seconds: float, one: Any, verify: ssl.SSLContext
) -> float:
    done = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await one(url, verify)
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return done / (time.monotonic() - started)


async def _httpx_once(url: str, verify: ssl.SSLContext) -> None:
    async with httpx.AsyncClient(verify=verify, trust_env=False) as client:
        response = await client.get(url)
        response.raise_for_status()


async def _asyncio_once(url: str, verify: ssl.SSLContext) -> None:
    u = httpx.URL(url)
    tls = verify if u.scheme == "https" else None
    reader, writer = await asyncio.open_connection(u.host, u.port, ssl=tls)
    writer.write(f"GET / HTTP/1.1\r\nHost: {u.host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    while await reader.read(65536):
        pass
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()


def baselines(url: str, concurrency: int, seconds: float, ca_file: Path | None) -> dict[str, float]:
    verify = ssl.create_default_context()
    if ca_file is not None:
        verify.load_verify_locations(cafile=str(ca_file))
    return {
        "httpx_requests_per_s": asyncio.run(
            _bare_loop(url, concurrency, seconds, _httpx_once, verify)
        ),
        "asyncio_requests_per_s": asyncio.run(
            _bare_loop(url, concurrency, seconds, _asyncio_once, verify)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--https", action="store_true")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--lead-in", type=float, default=8, help="seconds before the first slot")
    parser.add_argument(
        "--no-rollups", action="store_true", help="writer without rollups (to measure their cost)"
    )
    parser.add_argument(
        "--no-metrics",
        action="store_true",
        help="worker without Prometheus metrics (VIGIL_METRICS=off), to measure their cost",
    )
    args = parser.parse_args()

    sync = fresh_database(args.database_url)
    engine = create_engine(sync)
    # Monitor configs are encrypted columns: the engine needs the store's key.
    attach(engine.dialect, load_box(sync))
    with tempfile.TemporaryDirectory() as tmp:
        target, url, ca_file = start_target(args.https, Path(tmp))
        worker: subprocess.Popen[bytes] | None = None
        try:
            start = datetime.now(UTC) + timedelta(seconds=args.lead_in)
            add_monitors(engine, args.monitors, url=url, interval_s=args.interval, start=start)
            env = {
                **os.environ,
                "VIGIL_DATABASE_URL": sync,
                "VIGIL_WORKER_PER_HOST": str(args.concurrency),
                "VIGIL_LOG_LEVEL": "warning",
            }
            if ca_file is not None:
                env["VIGIL_EXTRA_CA_FILE"] = str(ca_file)
            if args.no_rollups:
                env["VIGIL_ROLLUPS"] = "off"
            if args.no_metrics:
                env["VIGIL_METRICS"] = "off"
            worker = subprocess.Popen(
                [
                    *(sys.executable, "-m", "workers.cli", "worker", "--region", REGION),
                    *("--concurrency", str(args.concurrency)),
                ],
                cwd=ROOT,
                env=env,
            )
            sleep_until(start)
            cpu0 = cpu_seconds(worker.pid)
            end = start + timedelta(seconds=args.seconds)
            sleep_until(end)
            cpu = cpu_seconds(worker.pid) - cpu0
            rss = rss_mb(worker.pid)
            # Let the last checks of the window finish and be written.
            time.sleep(3)
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=60)
            results = window_results(engine, start, end)
            base = baselines(url, args.concurrency, args.baseline_seconds, ca_file)
        finally:
            if worker is not None and worker.poll() is None:
                worker.kill()
            target.terminate()
            target.wait(timeout=10)
    engine.dispose()

    lateness = [float(d["latenessMs"]) for _, d in results]
    count = len(results)
    up = sum(1 for s, _ in results if s == "UP")
    figures = {
        "checks_per_s": round(count / args.seconds, 1),
        "lateness_p50_ms": round(percentile(lateness, 0.50), 1),
        "lateness_p99_ms": round(percentile(lateness, 0.99), 1),
        "lateness_max_ms": round(max(lateness, default=float("nan")), 1),
        "cpu_s_per_1000_checks": round(cpu / count * 1000, 2) if count else None,
        "rows_per_s": round(count / args.seconds, 1),
        "worker_rss_mb": round(rss, 1),
        "httpx_requests_per_s": round(base["httpx_requests_per_s"], 1),
        "asyncio_requests_per_s": round(base["asyncio_requests_per_s"], 1),
        "up_fraction": round(up / count, 4) if count else None,
        "worker_exit_code": code,
        "rollups": not args.no_rollups,
        "metrics": not args.no_metrics,
    }
    scheme = "HTTPS" if args.https else "HTTP"
    print(
        f"{scheme}: {args.monitors} monitors every {args.interval} s "
        f"(due {args.monitors / args.interval:.1f}/s) on {make_url(sync).get_backend_name()}, "
        f"one worker at concurrency {args.concurrency}, {args.seconds:g} s window"
    )
    print(
        f"  ran {figures['checks_per_s']} checks/s ({up} of {count} UP), "
        f"lateness p50 {figures['lateness_p50_ms']} ms, p99 {figures['lateness_p99_ms']} ms, "
        f"max {figures['lateness_max_ms']} ms"
    )
    print(
        f"  worker CPU {figures['cpu_s_per_1000_checks']} s per 1000 checks, "
        f"RSS {figures['worker_rss_mb']} MB, exit code {code}"
    )
    print(
        f"  bare httpx {figures['httpx_requests_per_s']} req/s, "
        f"bare asyncio {figures['asyncio_requests_per_s']} req/s"
    )
    if lateness:
        print(f"  lateness mean {statistics.fmean(lateness):.1f} ms over {count} checks")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
