"""AI events accepted per second by one API process, and that every accepted one is stored.

python -m bench.ai_ingest \\
    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/vigil_bench_ai \\
    [--monitors 20] [--connections 64] [--seconds 10]

The database is dropped, created and migrated; ``--monitors`` LLM monitors of an
ENTERPRISE organization are created through the store; one ``vigil api`` process
serves them; ``wrk`` posts reference-shaped events (a known model, so each is
priced) spread over the monitors from ``--connections`` keep-alive connections for
``--seconds``. Afterwards every 200 answer must be a row in ``ai_events`` and the
hourly rollups must count the same number. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, func, select

from bench.checks import fresh_database
from bench.heartbeat import free_port, parse_wrk, wait_ready
from store.ai_models import AiEvent, AiRollup
from store.clock import SystemClock
from store.db import Store
from store.monitors import create_monitor
from store.orgs import create_org

ROOT = Path(__file__).resolve().parents[1]
EVENT = {
    "provider": "openai",
    "model": "gpt-4o-mini",
    "promptTokens": 420,
    "completionTokens": 96,
    "cacheReadTokens": 128,
    "latencyMs": 850,
    "promptHash": "3f2a9c",
    "sessionId": "bench",
}
WRK_SCRIPT = """
local ids = {}
for line in io.lines("%s") do ids[#ids + 1] = line end
local body = '%s'
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/ai/ingest/" .. ids[(n %% #ids) + 1],
                    {["Content-Type"] = "application/json"}, body)
end
"""


async def create_llm_monitors(url: str, count: int) -> list[str]:
    store = Store(url)
    now = SystemClock().now()
    ids = []
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
                    "name": f"assistant {i}",
                    "url": "",
                    "type": "LLM",
                    "interval_s": 60,
                    "config": {},
                    "regions": ["local"],
                },
                now=now,
            )
            ids.append(monitor.id)
    await store.close()
    return ids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--monitors", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    url = fresh_database(args.database_url)
    ids = asyncio.run(create_llm_monitors(url, args.monitors))
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
        cpu_before = cpu_seconds(api.pid)
        with tempfile.TemporaryDirectory() as tmp:
            id_file = Path(tmp) / "ids.txt"
            id_file.write_text("\n".join(ids) + "\n")
            script = Path(tmp) / "ingest.lua"
            script.write_text(WRK_SCRIPT % (id_file, json.dumps(EVENT)))
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
        cpu_s = cpu_seconds(api.pid) - cpu_before
    finally:
        api.terminate()
        api.wait(timeout=30)
    total, failed = parse_wrk(run.stdout)
    accepted = total - failed
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = int(conn.execute(select(func.count()).select_from(AiEvent)).scalar_one())
        rolled = int(conn.execute(select(func.sum(AiRollup.events))).scalar_one() or 0)
        unpriced = int(
            conn.execute(
                select(func.count()).select_from(AiEvent).where(AiEvent.cost_usd.is_(None))
            ).scalar_one()
        )
    engine.dispose()
    figures = {
        "events_per_s": round(accepted / args.seconds, 1),
        # The API process's own CPU: on a shared machine the wall-clock rate says
        # more about the neighbours than about Vigil.
        "api_cpu_s": round(cpu_s, 2),
        "events_per_api_cpu_s": round(accepted / cpu_s, 1) if cpu_s else None,
        "accepted": accepted,
        "failed": failed,
        "stored": stored,
        "in_rollups": rolled,
        "unpriced": unpriced,
        # Events wrk gave up on (timeouts) may still have been stored: not a loss.
        "lost": max(0, accepted - stored),
        "connections": args.connections,
        "monitors": args.monitors,
        "seconds": args.seconds,
    }
    print(run.stdout)
    print(
        f"{accepted} events accepted in {args.seconds} s ({figures['events_per_s']}/s), "
        f"{failed} failed, {stored} in the store, {rolled} in the rollups, "
        f"{figures['lost']} lost"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
