"""``ai-usage`` equals a recomputation from the stored events; ``ai-events`` pages and cursors."""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import httpx
import pytest

from store.ai_models import AiEvent
from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant
from tests.api.test_ai_ingest import create_llm, ingest, stored

# The histogram's bucket bounds, written out (ms).
BOUNDS = [50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000]
BOUNDS += [15000, 20000, 30000, 60000, 120000]
MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("acme", "private-llm")]


def _event(rng: random.Random, n: int) -> dict[str, Any]:
    provider, model = MODELS[n % 3]
    event: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "promptTokens": rng.randint(10, 3000),
        "completionTokens": rng.randint(1, 800),
        "latencyMs": rng.choice([40, 120, 480, 900, 1600, 2600, 8000, 70000]),
    }
    if n % 7 == 0:
        event["error"] = "rate limited"
        event["statusCode"] = 429
    if n % 4 == 0:
        event.update(ragDocsRetrieved=rng.randint(1, 8), ragAvgRelevance=rng.random())
        event["ragRetrievalMs"] = rng.randint(10, 300)
    return event


async def _seed(client: httpx.AsyncClient, monitor_id: str, clock: FrozenClock) -> None:
    rng = random.Random(7)
    now = clock.now()
    bodies = []
    for n in range(90):
        body = _event(rng, n)
        # Spread over 30 days: the last hours, days back, some too old for 7d.
        ago = timedelta(hours=rng.choice([0, 1, 5, 23, 30, 100, 700]))
        body["timestamp"] = (now - ago).strftime("%Y-%m-%dT%H:%M:%SZ")
        bodies.append(body)
    # Concurrent, so they are written in batches as under load.
    for r in await asyncio.gather(*(ingest(client, monitor_id, b) for b in bodies)):
        assert r.status_code == 200, r.text


def _p95(latencies: list[int]) -> int | None:
    if not latencies:
        return None
    ordered = sorted(latencies)
    value = ordered[math.ceil(0.95 * len(ordered)) - 1]
    bound = next((b for b in BOUNDS if value <= b), max(ordered))
    return min(bound, max(ordered))


def _expected(events: list[AiEvent], *, since: Any) -> dict[str, Any]:
    chosen = [e for e in events if e.created_at >= since]
    errors = [e for e in chosen if e.error is not None or (e.status_code or 0) >= 400]
    rag = [e for e in chosen if e.rag_docs is not None]
    models: dict[str, list[AiEvent]] = defaultdict(list)
    for e in chosen:
        models[e.model].append(e)
    return {
        "totalEvents": len(chosen),
        "totalTokens": sum(e.total_tokens for e in chosen),
        "totalCost": sum(e.cost_usd or 0 for e in chosen),
        "unpricedEvents": sum(1 for e in chosen if e.cost_usd is None),
        "avgLatency": round(sum(e.latency_ms for e in chosen) / len(chosen)),
        "p95Latency": _p95([e.latency_ms for e in chosen]),
        "errorRate": round(100 * len(errors) / len(chosen), 2),
        "models": {
            m: (
                len(rows),
                sum(e.cost_usd or 0 for e in rows),
                round(sum(e.latency_ms for e in rows) / len(rows)),
            )
            for m, rows in models.items()
        },
        "rag": (
            len(rag),
            sum(e.rag_relevance or 0 for e in rag) / len(rag),
            sum(e.rag_docs or 0 for e in rag) / len(rag),
            sum(e.rag_retrieval_ms or 0 for e in rag) / len(rag),
        ),
        "hours": Counter(e.created_at.replace(minute=0, second=0, microsecond=0) for e in chosen),
    }


@pytest.mark.parametrize(("period", "hours"), [("24h", 24), ("7d", 168), ("30d", 720)])
async def test_ai_usage_equals_a_recomputation_from_events(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    clock: FrozenClock,
    period: str,
    hours: int,
) -> None:
    monitor = await create_llm(client, tenant)
    await _seed(client, monitor["id"], clock)
    r = await client.get(
        f"/api/monitors/{monitor['id']}/ai-usage", params={"period": period}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    since = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    want = _expected(await stored(store, monitor["id"]), since=since)
    for field in ("totalEvents", "totalTokens", "unpricedEvents", "avgLatency", "p95Latency"):
        assert data[field] == want[field], field
    assert data["errorRate"] == want["errorRate"]
    assert data["totalCost"] == pytest.approx(want["totalCost"], abs=1e-6)
    assert want["unpricedEvents"] > 0  # the acme model is unknown to genai-prices
    got_models = {
        m["model"]: (m["count"], m["totalCost"], m["avgLatency"]) for m in data["topModels"]
    }
    assert got_models.keys() == want["models"].keys()
    for model, (count, cost, latency) in want["models"].items():
        assert got_models[model][0] == count and got_models[model][2] == latency
        assert got_models[model][1] == pytest.approx(cost, abs=1e-6)
    counts = [m["count"] for m in data["topModels"]]
    assert counts == sorted(counts, reverse=True)
    assert len(data["hourlyUsage"]) == hours
    assert data["hourlyUsage"][0]["hour"] == since.strftime("%Y-%m-%dT%H:00:00Z")
    by_hour = {h["hour"]: h["events"] for h in data["hourlyUsage"] if h["events"]}
    assert by_hour == {h.strftime("%Y-%m-%dT%H:00:00Z"): n for h, n in want["hours"].items()}
    rag_events, relevance, docs, retrieval = want["rag"]
    assert data["ragStats"] == {
        "totalRagEvents": rag_events,
        "avgRelevance": round(relevance, 4),
        "avgDocsRetrieved": round(docs, 2),
        "avgRetrievalMs": round(retrieval, 1),
    }


async def test_ai_usage_of_an_empty_monitor_and_bad_period(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor = await create_llm(client, tenant)
    url = f"/api/monitors/{monitor['id']}/ai-usage"
    data = (await client.get(url, headers=tenant.headers)).json()["data"]
    assert data["period"] == "24h" and data["totalEvents"] == 0 and data["p95Latency"] is None
    assert data["ragStats"]["avgRelevance"] is None and len(data["hourlyUsage"]) == 24
    r = await client.get(url, params={"period": "1y"}, headers=tenant.headers)
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "period"


async def test_ai_endpoints_are_scoped_to_the_organization(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    monitor = await create_llm(client, tenant)
    for path in ("ai-usage", "ai-events"):
        r = await client.get(f"/api/monitors/{monitor['id']}/{path}", headers=other_tenant.headers)
        assert r.status_code == 404 and r.json()["code"] == "monitor_not_found"


REFERENCE_EVENT_FIELDS = {
    "id",
    "monitorId",
    "provider",
    "model",
    "inputTokens",
    "outputTokens",
    "totalTokens",
    "costUsd",
    "latencyMs",
    "status",
    "errorMessage",
    "createdAt",
}


async def test_ai_events_page_like_the_reference_and_walk_by_cursor(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor = await create_llm(client, tenant)
    mid = monitor["id"]
    for n in range(45):
        body = {"provider": "openai", "model": "gpt-4o", "promptTokens": n, "completionTokens": 1}
        body["latencyMs"] = 100
        if n == 44:
            body["error"] = "boom"
        assert (await ingest(client, mid, body)).status_code == 200
        clock.advance(1)
    url = f"/api/monitors/{mid}/ai-events"
    r = await client.get(url, headers=tenant.headers)
    first = r.json()
    assert first["pagination"]["page"] == 1 and first["pagination"]["limit"] == 20
    assert first["pagination"]["total"] == 45 and first["pagination"]["totalPages"] == 3
    newest = first["data"][0]
    assert set(newest) >= REFERENCE_EVENT_FIELDS
    assert newest["inputTokens"] == 44 and newest["outputTokens"] == 1
    assert newest["status"] == "error" and newest["errorMessage"] == "boom"
    assert first["data"][1]["status"] == "success" and first["data"][1]["errorMessage"] is None
    assert newest["createdAt"] == (clock.now() - timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    page3 = (await client.get(url, params={"page": 3}, headers=tenant.headers)).json()
    assert [e["inputTokens"] for e in page3["data"]] == [4, 3, 2, 1, 0]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get(url, params=params, headers=tenant.headers)).json()
        seen += [e["inputTokens"] for e in body["data"]]
        cursor = body["pagination"]["nextCursor"]
        if cursor is None:
            break
    assert seen == list(range(44, -1, -1))
    r = await client.get(url, params={"limit": 101}, headers=tenant.headers)
    assert r.status_code == 400
    r = await client.get(url, params={"cursor": "garbage!"}, headers=tenant.headers)
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("slow", "p95"),
    [
        # 100 events: the 95th by rank is the first slow one when 6 are slow...
        pytest.param(6, 5000, id="rank-95-is-slow"),
        # ...and the last fast one when 5 are slow.
        pytest.param(5, 100, id="rank-95-is-fast"),
    ],
)
async def test_p95_is_the_bucket_bound_of_the_95th_event_by_rank(
    client: httpx.AsyncClient, tenant: Tenant, slow: int, p95: int
) -> None:
    monitor = await create_llm(client, tenant)
    base = {"provider": "openai", "model": "gpt-4o", "promptTokens": 1, "completionTokens": 1}
    latencies = [9000] + [4200] * (slow - 1) + [90] * (100 - slow)
    bodies = [{**base, "latencyMs": ms} for ms in latencies]
    for r in await asyncio.gather(*(ingest(client, monitor["id"], b) for b in bodies)):
        assert r.status_code == 200
    url = f"/api/monitors/{monitor['id']}/ai-usage"
    data = (await client.get(url, headers=tenant.headers)).json()["data"]
    # 4,200 ms falls in the (3,000, 5,000] bucket, 90 ms in (50, 100]; the slowest is 9,000.
    assert data["p95Latency"] == p95
