"""Run time of the insights job on one busy LLM monitor: 30 days, 1,000,000 events.

python -m bench.ai_insights \\
    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/vigil_bench_ai_ins \\
    [--events 1000000] [--days 30]

The database is recreated; the events are written by PostgreSQL itself
(``generate_series``: models, sessions, prompt hashes, errors, RAG figures spread
over the period) and the hourly rollups are built from them with one
``INSERT ... SELECT``, as the ingest would have kept them. Then the job runs three
times; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import timedelta

import psycopg
from sqlalchemy.engine import make_url

from ai.insights import run_insights
from bench.ai_ingest import create_llm_monitors
from bench.checks import fresh_database
from store.ai_models import LATENCY_BOUNDS_MS, LATENCY_BUCKETS
from store.clock import SystemClock
from store.db import Store

EVENTS_SQL = """
INSERT INTO ai_events (monitor_id, created_at, received_at, provider, model, input_tokens,
    output_tokens, total_tokens, cache_read_tokens, latency_ms, error, prompt_hash, session_id,
    rag_docs, rag_relevance, rag_retrieval_ms, rag_context_tokens, cost_usd, cost_source, source)
SELECT %(mid)s, t, t, 'openai', m, i, o, i + o, 0, 200 + (n %% 1800),
       CASE WHEN n %% 97 = 0 THEN 'rate limited' END,
       'h' || (n %% 5000), 's' || (n %% 20000),
       CASE WHEN n %% 4 = 0 THEN 4 END, CASE WHEN n %% 4 = 0 THEN 0.7 END,
       CASE WHEN n %% 4 = 0 THEN 80 END, CASE WHEN n %% 4 = 0 THEN 900 END,
       (i * 2.5 + o * 10) / 1e6, 'genai-prices', 'json'
FROM (
    SELECT n, now() - (n * %(span_s)s / %(events)s) * interval '1 second' AS t,
           CASE WHEN n %% 3 = 0 THEN 'gpt-4o' ELSE 'gpt-4o-mini' END AS m,
           100 + (n %% 2500) AS i, 20 + (n %% 400) AS o
    FROM generate_series(1, %(events)s) AS n
) s
"""


def rollups_sql() -> str:
    bounds = list(LATENCY_BOUNDS_MS)
    buckets = []
    for i in range(LATENCY_BUCKETS):
        low = bounds[i - 1] if i else None
        high = bounds[i] if i < len(bounds) else None
        cond = " AND ".join(
            c
            for c in (
                f"latency_ms > {low}" if low is not None else "",
                f"latency_ms <= {high}" if high is not None else "",
            )
            if c
        )
        buckets.append(f"count(*) FILTER (WHERE {cond})")
    return f"""
INSERT INTO ai_rollups
SELECT monitor_id, date_trunc('hour', created_at), model, min(provider), count(*),
       count(error), sum(input_tokens), sum(output_tokens), sum(total_tokens),
       sum(cache_read_tokens), 0, 0, sum(cost_usd), count(cost_usd), count(*) - count(cost_usd),
       sum(latency_ms), max(latency_ms), count(rag_docs), coalesce(sum(rag_docs), 0),
       coalesce(sum(rag_relevance), 0), count(rag_relevance), coalesce(sum(rag_retrieval_ms), 0),
       count(rag_retrieval_ms), coalesce(sum(rag_context_tokens), 0),
       count(*) FILTER (WHERE total_tokens < 500), {", ".join(buckets)}
FROM ai_events GROUP BY monitor_id, date_trunc('hour', created_at), model
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    url = fresh_database(args.database_url)
    [mid] = asyncio.run(create_llm_monitors(url, 1))
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        span_s = timedelta(days=args.days).total_seconds()
        conn.execute(EVENTS_SQL, {"mid": mid, "events": args.events, "span_s": span_s})
        conn.execute(rollups_sql())
        conn.execute("ANALYZE ai_events")
        conn.execute("ANALYZE ai_rollups")
    seeded_s = time.perf_counter() - started

    async def timed() -> list[float]:
        store = Store(url)
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            await run_insights(store, clock=SystemClock())
            runs.append(time.perf_counter() - t)
        await store.close()
        return runs

    runs = asyncio.run(timed())
    figures = {
        "events": args.events,
        "days": args.days,
        "seed_s": round(seeded_s, 1),
        "insights_run_s": [round(r, 3) for r in runs],
        "insights_best_s": round(min(runs), 3),
    }
    print(f"insights job on {args.events:,} events over {args.days} days: {min(runs):.3f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
