"""Detection latency: from the moment a target goes down to the alert arriving.

python -m bench.detection \\
    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/vigil_bench_det \\
    [--interval 30] [--threshold 2] [--trials 3]

Real processes on loopback: one ``vigil worker`` and one ``vigil dispatcher`` on a
fresh database; a target HTTP server and a webhook receiver in this process. Each
trial waits a random part of the interval, takes the target down (503), and times
the webhook's DOWN alert; then brings it back and times the RECOVERED alert. The
last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.checks import fresh_database
from store.base import new_id
from store.db import Store
from store.models import AlertChannel
from store.monitors import create_monitor
from store.orgs import create_org
from tests.servers.receivers import HttpReceiver
from tests.servers.tiny_http import TinyHTTPServer

ROOT = Path(__file__).resolve().parents[1]


async def setup(url: str, *, target: str, hook: str, interval: int, threshold: int) -> None:
    store = Store(url)
    now = datetime.now(UTC)
    async with store.transaction() as session:
        org, _ = await create_org(
            session,
            name="Bench",
            slug="bench",
            plan="ENTERPRISE",
            owner_email="b@b",
            now=now,
            trusted=True,
        )
        session.add(
            AlertChannel(
                id=new_id("ac"),
                org_id=org.id,
                name="hook",
                type="WEBHOOK",
                config={"url": hook, "secret": "s"},
                is_active=True,
                created_at=now,
                updated_at=now,
            )
        )
        await create_monitor(
            session,
            org.id,
            {
                "name": "Bench target",
                "url": target,
                "type": "HTTP",
                "interval_s": interval,
                "timeout_s": 10,
                "regions": ["local"],
                "config": {},
                "method": "GET",
                "failure_threshold": threshold,
                "recovery_threshold": 1,
                "region_quorum": 1,
            },
            now=now,
        )
    await store.close()


async def trial(
    target: TinyHTTPServer, hooks: HttpReceiver, rng: random.Random, interval: int
) -> tuple[float, float]:
    await asyncio.sleep(rng.uniform(0, interval))
    seen = len(hooks.requests)
    target.status = 503
    down_at = time.monotonic()
    await hooks.wait_for(seen + 1, timeout=interval * 4)
    detected = time.monotonic() - down_at
    target.status = 200
    up_at = time.monotonic()
    await hooks.wait_for(seen + 2, timeout=interval * 4)
    recovered = time.monotonic() - up_at
    return detected, recovered


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    url = fresh_database(args.database_url)
    rng = random.Random(args.seed)
    async with TinyHTTPServer() as target, HttpReceiver(default=200) as hooks:
        await setup(
            url,
            target=target.url,
            hook=hooks.url_for("/hook"),
            interval=args.interval,
            threshold=args.threshold,
        )
        env = {**os.environ, "VIGIL_DATABASE_URL": url, "VIGIL_LOG_LEVEL": "warning"}
        procs = [
            # Started once, before anything is timed.
            subprocess.Popen([sys.executable, "-m", "workers.cli", *cmd], env=env, cwd=ROOT)  # noqa: ASYNC220
            for cmd in (["worker", "--region", "local"], ["dispatcher"])
        ]
        try:
            results = []
            for n in range(args.trials):
                detected, recovered = await trial(target, hooks, rng, args.interval)
                print(
                    f"trial {n + 1}: DOWN alert after {detected:.1f} s, "
                    f"RECOVERED alert after {recovered:.1f} s",
                    flush=True,
                )
                results.append((detected, recovered))
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=30)
    downs = [d for d, _ in results]
    ups = [u for _, u in results]
    return {
        "interval_s": args.interval,
        "failure_threshold": args.threshold,
        "trials": args.trials,
        "detection_s": [round(d, 1) for d in downs],
        "detection_mean_s": round(statistics.mean(downs), 1),
        "detection_max_s": round(max(downs), 1),
        "recovery_alert_s": [round(u, 1) for u in ups],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--threshold", type=int, default=2)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    figures = asyncio.run(main_async(parser.parse_args()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
