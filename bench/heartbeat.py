"""Heartbeat pings accepted per second by one API process, and that none is lost.

python -m bench.heartbeat \\
    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/vigil_bench_hb \\
    [--tokens 1000] [--connections 64] [--seconds 10]

The database is dropped, created and migrated; ``--tokens`` HEARTBEAT monitors are
created through the store; one ``vigil api`` process serves them; ``wrk`` (Debian's
package) sends keep-alive GET pings spread over every token from ``--connections``
connections for ``--seconds``. Afterwards every 200 answer must be a check result in
the store. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from bench.checks import fresh_database
from store.clock import SystemClock
from store.db import Store
from store.models import CheckResult
from store.monitors import create_monitor
from store.orgs import create_org

ROOT = Path(__file__).resolve().parents[1]
WRK_SCRIPT = """
local tokens = {}
for line in io.lines("%s") do tokens[#tokens + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/heartbeat/" .. tokens[(n %% #tokens) + 1])
end
"""


async def create_heartbeats(url: str, count: int) -> list[str]:
    store = Store(url)
    now = SystemClock().now()
    tokens = []
    async with store.transaction() as session:
        org, _ = await create_org(
            session,
            name="Bench",
            slug="bench",
            plan="ENTERPRISE",
            owner_email="b@bench",
            now=now,
            trusted=True,
        )
        for i in range(count):
            monitor = await create_monitor(
                session,
                org.id,
                {
                    "name": f"cron job {i}",
                    "url": "",
                    "type": "HEARTBEAT",
                    "interval_s": 3600,
                    "config": {"grace": 600},
                    "regions": ["local"],
                    "failure_threshold": 1,
                },
                now=now,
            )
            assert monitor.heartbeat_token is not None
            tokens.append(monitor.heartbeat_token)
    await store.close()
    return tokens


async def ping_each(port: int, tokens: list[str], concurrency: int = 64) -> float:
    """Ping every token once, ``concurrency`` at a time; returns the seconds it took."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:

        async def one(token: str) -> None:
            async with gate:
                for attempt in range(3):
                    try:
                        r = await client.get(f"/api/heartbeat/{token}")
                        break
                    except httpx.ReadError:
                        # A keep-alive connection the server closed as it was reused.
                        if attempt == 2:
                            raise
                r.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(t) for t in tokens))
        return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the API did not start listening on port {port} within {deadline_s} s")


def parse_wrk(output: str) -> tuple[int, int]:
    """(requests, non-2xx) from wrk's report."""
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = int(bad.group(1)) if bad else 0
    if errors:
        failed += sum(int(g) for g in errors.groups())
    return total, failed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    url = fresh_database(args.database_url)
    tokens = asyncio.run(create_heartbeats(url, args.tokens))
    port = free_port()
    env = {
        **os.environ,
        "VIGIL_DATABASE_URL": url,
        "VIGIL_LOG_LEVEL": "warning",
        "VIGIL_DEMO_MONITOR": "false",
        "VIGIL_PORT": str(port),
    }
    api = subprocess.Popen([sys.executable, "-m", "workers.cli", "api"], env=env, cwd=ROOT)
    try:
        wait_ready(port)
        # A cron job's first ping ever takes the full evaluation path; the steady
        # state is every later one. Ping each token once first, and time that too.
        first_ping_s = asyncio.run(ping_each(port, tokens))
        with tempfile.TemporaryDirectory() as tmp:
            token_file = Path(tmp) / "tokens.txt"
            token_file.write_text("\n".join(tokens) + "\n")
            script = Path(tmp) / "ping.lua"
            script.write_text(WRK_SCRIPT % token_file)
            run = subprocess.run(
                [
                    "wrk",
                    "-t2",
                    f"-c{args.connections}",
                    f"-d{args.seconds}s",
                    "-s",
                    str(script),
                    f"http://127.0.0.1:{port}",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
    finally:
        api.terminate()
        api.wait(timeout=30)
    total, failed = parse_wrk(run.stdout)
    accepted = total - failed
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = int(conn.execute(select(func.count()).select_from(CheckResult)).scalar_one())
        stored -= len(tokens)  # the warm-up pings
    engine.dispose()
    figures = {
        "pings_per_s": round(accepted / args.seconds, 1),
        "accepted": accepted,
        "failed": failed,
        "stored": stored,
        # Pings wrk gave up on (timeouts) may still have been stored: not a loss.
        "lost": max(0, accepted - stored),
        "connections": args.connections,
        "tokens": args.tokens,
        "seconds": args.seconds,
        "first_pings_per_s": round(len(tokens) / first_ping_s, 1),
    }
    print(run.stdout)
    print(
        f"{accepted} pings accepted in {args.seconds} s ({figures['pings_per_s']}/s), "
        f"{failed} failed, {stored} in the store, {figures['lost']} lost"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
