"""``POST /api/ai/ingest/:monitorId``: shapes, validation, CORS, limits, ingest keys, pricing."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from genai_prices import Usage, calc_price
from sqlalchemy import select

from ai.pricing import PRICE_VERSION
from store.ai_models import AiDailyCount, AiEvent
from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant, make_tenant

BASE_EVENT = {
    "provider": "openai",
    "model": "gpt-4o",
    "promptTokens": 150,
    "completionTokens": 80,
    "latencyMs": 1200,
}


async def create_llm(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"name": "Chat assistant", "type": "LLM", **fields}
    r = await client.post("/api/monitors", headers=tenant.headers, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


async def ingest(
    client: httpx.AsyncClient, monitor_id: str, body: Any, **headers: str
) -> httpx.Response:
    return await client.post(f"/api/ai/ingest/{monitor_id}", json=body, headers=headers)


async def stored(store: Store, monitor_id: str) -> list[AiEvent]:
    async with store.transaction() as session:
        rows = await session.scalars(
            select(AiEvent).where(AiEvent.monitor_id == monitor_id).order_by(AiEvent.id)
        )
        return list(rows)


async def test_llm_monitor_needs_no_url_and_is_listed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    data = await create_llm(client, tenant)
    assert data["type"] == "LLM" and data["url"] == ""
    assert data["ingestUrl"] == f"http://127.0.0.1:8080/api/ai/ingest/{data['id']}"
    listed = (await client.get("/api/monitors", headers=tenant.headers)).json()["data"]
    assert [m["id"] for m in listed] == [data["id"]]
    r = await client.put(
        f"/api/monitors/{data['id']}", headers=tenant.headers, json={"name": "Renamed"}
    )
    assert r.status_code == 200 and r.json()["data"]["name"] == "Renamed"


async def test_llm_monitor_rejects_config_keys(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "x", "type": "LLM", "config": {"prices": {}}},
    )
    assert r.status_code == 400
    assert r.json()["fields"][0]["field"] == "config.prices"


async def test_ingest_answers_the_reference_shape_and_stores_every_field(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor = await create_llm(client, tenant)
    body = {
        **BASE_EVENT,
        "totalTokens": 240,
        "statusCode": 200,
        "promptHash": "h1",
        "metadata": {"feature": "chat"},
        "ragDocsRetrieved": 4,
        "ragAvgRelevance": 0.82,
        "ragRetrievalMs": 120,
        "ragContextTokens": 90,
        "cacheReadTokens": 50,
        "reasoningTokens": 10,
        "ttftMs": 300,
        "userId": "u1",
        "sessionId": "s1",
    }
    r = await ingest(client, monitor["id"], body)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) == {"id", "costUsd", "dailyEventsUsed", "dailyEventsLimit"}
    assert data["id"].startswith("evt_")
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per million tokens.
    expected = (100 * 2.5 + 50 * 1.25 + 80 * 10) / 1e6
    assert data["costUsd"] == pytest.approx(expected, rel=1e-9)
    assert data["dailyEventsUsed"] == 1
    assert data["dailyEventsLimit"] == 10_000_000  # ENTERPRISE
    assert r.headers["access-control-allow-origin"] == "*"
    [row] = await stored(store, monitor["id"])
    assert f"evt_{row.id}" == data["id"]
    assert (row.provider, row.model, row.input_tokens, row.output_tokens) == (
        "openai",
        "gpt-4o",
        150,
        80,
    )
    assert row.total_tokens == 240 and row.cache_read_tokens == 50
    assert row.reasoning_tokens == 10 and row.ttft_ms == 300 and row.latency_ms == 1200
    assert row.meta == {"feature": "chat"} and row.prompt_hash == "h1"
    assert (row.user_id, row.session_id) == ("u1", "s1")
    assert (row.rag_docs, row.rag_relevance, row.rag_retrieval_ms, row.rag_context_tokens) == (
        4,
        0.82,
        120.0,
        90,
    )
    assert row.price_version == PRICE_VERSION and row.cost_source == "genai-prices"
    assert row.created_at == clock.now()


async def test_total_tokens_defaults_to_prompt_plus_completion(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    monitor = await create_llm(client, tenant)
    assert (await ingest(client, monitor["id"], BASE_EVENT)).status_code == 200
    [row] = await stored(store, monitor["id"])
    assert row.total_tokens == 230


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"provider": None}, "provider", id="provider-missing"),
        pytest.param({"model": ""}, "model", id="model-empty"),
        pytest.param({"promptTokens": -1}, "promptTokens", id="negative-tokens"),
        pytest.param({"completionTokens": 10_000_001}, "completionTokens", id="absurd-tokens"),
        pytest.param({"promptTokens": "150"}, "promptTokens", id="tokens-as-text"),
        pytest.param({"latencyMs": -5}, "latencyMs", id="negative-latency"),
        pytest.param({"ragAvgRelevance": 1.01}, "ragAvgRelevance", id="relevance-above-1"),
        pytest.param({"ragAvgRelevance": -0.01}, "ragAvgRelevance", id="relevance-below-0"),
        pytest.param({"metadata": {"k": "x" * 9000}}, "metadata", id="metadata-too-big"),
        pytest.param({"metadata": [1]}, "metadata", id="metadata-not-object"),
        pytest.param({"statusCode": 99}, "statusCode", id="status-code"),
        pytest.param({"totalTokens": 229}, "totalTokens", id="total-below-sum"),
        pytest.param({"cacheReadTokens": 151}, "cacheReadTokens", id="cache-above-prompt"),
        pytest.param({"reasoningTokens": 81}, "reasoningTokens", id="reasoning-above-output"),
        pytest.param({"ttftMs": 1201}, "ttftMs", id="ttft-above-latency"),
        pytest.param({"costUsd": -0.1}, "costUsd", id="negative-cost"),
        pytest.param({"prompt_tokens": 1}, "prompt_tokens", id="unknown-field"),
    ],
)
async def test_ingest_rejects_bad_fields_and_stores_nothing(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, change: dict[str, Any], field: str
) -> None:
    monitor = await create_llm(client, tenant)
    body = {k: v for k, v in {**BASE_EVENT, **change}.items() if v is not None}
    r = await ingest(client, monitor["id"], body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["code"] == "invalid_request" and err["requestId"]
    assert field in [f["field"] for f in err["fields"]]
    assert await stored(store, monitor["id"]) == []


async def test_ingest_boundaries_are_accepted(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    monitor = await create_llm(client, tenant)
    edge = {
        **BASE_EVENT,
        "promptTokens": 10_000_000,
        "ragAvgRelevance": 1.0,
        "cacheReadTokens": 10_000_000,
        "ttftMs": 1200,
        "metadata": {"k": "x" * (8 * 1024 - 8)},
    }
    r = await ingest(client, monitor["id"], edge)
    assert r.status_code == 200, r.text
    r = await ingest(client, monitor["id"], {**BASE_EVENT, "ragAvgRelevance": 0})
    assert r.status_code == 200, r.text


async def test_bad_json_is_a_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    monitor = await create_llm(client, tenant)
    r = await client.post(
        f"/api/ai/ingest/{monitor['id']}",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["fields"] == [
        {"field": "body", "issue": "is not valid JSON"}
    ]


async def test_cors_preflight_allows_browsers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    monitor = await create_llm(client, tenant)
    r = await client.options(
        f"/api/ai/ingest/{monitor['id']}",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-vigil-ingest-key",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-vigil-ingest-key"} <= allowed


async def test_unknown_paused_and_other_type_monitors_answer_the_same_404(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    llm = await create_llm(client, tenant)
    http = await client.post(
        "/api/monitors",
        headers=tenant.headers,
        json={"name": "w", "type": "HTTP", "url": "https://example.com", "interval": 300},
    )
    await client.post(f"/api/monitors/{llm['id']}/pause", headers=tenant.headers)
    bodies = []
    for mid in (llm["id"], "mon_doesnotexist00", http.json()["data"]["id"]):
        r = await ingest(client, mid, BASE_EVENT)
        assert r.status_code == 404
        bodies.append({k: v for k, v in r.json().items() if k != "requestId"})
    assert bodies[0] == bodies[1] == bodies[2] == {"error": "Not found", "code": "not_found"}
    await client.post(f"/api/monitors/{llm['id']}/resume", headers=tenant.headers)
    assert (await ingest(client, llm["id"], BASE_EVENT)).status_code == 200
    assert len(await stored(store, llm["id"])) == 1


async def test_daily_limit_answers_429_with_the_counters(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "small", plan="FREE")
    monitor = await create_llm(client, free)
    async with store.transaction() as session:
        session.add(AiDailyCount(monitor_id=monitor["id"], day="2026-03-01", events=9_998))
    r = await ingest(client, monitor["id"], BASE_EVENT)
    assert r.status_code == 200
    assert r.json()["data"]["dailyEventsUsed"] == 9_999
    assert r.json()["data"]["dailyEventsLimit"] == 10_000
    r = await ingest(client, monitor["id"], BASE_EVENT)
    assert r.status_code == 200 and r.json()["data"]["dailyEventsUsed"] == 10_000
    r = await ingest(client, monitor["id"], BASE_EVENT)
    assert r.status_code == 429
    body = r.json()
    assert body["code"] == "rate_limited"
    assert (body["dailyEventsUsed"], body["dailyEventsLimit"]) == (10_000, 10_000)
    # 12:00 UTC: twelve hours until the counter starts again.
    assert r.headers["retry-after"] == str(12 * 3600)
    assert len(await stored(store, monitor["id"])) == 2
    clock.advance(12 * 3600)  # the next UTC day
    r = await ingest(client, monitor["id"], BASE_EVENT)
    assert r.status_code == 200 and r.json()["data"]["dailyEventsUsed"] == 1


async def test_per_minute_rate_limit_per_monitor(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "small", plan="FREE")
    monitor = await create_llm(client, free)
    other = await create_llm(client, free)
    # Concurrent, so the writer batches them; FREE allows 600 a minute.
    answers = await asyncio.gather(*(ingest(client, monitor["id"], BASE_EVENT) for _ in range(601)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 600 + [429]
    [refused] = [r for r in answers if r.status_code == 429]
    assert "600 a minute" in refused.json()["error"]
    assert refused.headers["retry-after"] == "60"
    assert (await ingest(client, other["id"], BASE_EVENT)).status_code == 200
    clock.advance(60)
    assert (await ingest(client, monitor["id"], BASE_EVENT)).status_code == 200
    assert len(await stored(store, monitor["id"])) == 601


async def test_ingest_key_is_required_once_set(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    monitor = await create_llm(client, tenant)
    mid = monitor["id"]
    r = await client.post(f"/api/monitors/{mid}/ingest-key", headers=tenant.headers)
    assert r.status_code == 201
    key = r.json()["data"]["ingestKey"]
    shown = (await client.get(f"/api/monitors/{mid}/ingest-key", headers=tenant.headers)).json()
    assert shown["data"] == {"required": True, "last4": key[-4:]}
    r = await ingest(client, mid, BASE_EVENT)
    assert r.status_code == 401 and "X-Vigil-Ingest-Key" in r.json()["error"]
    r = await ingest(client, mid, BASE_EVENT, **{"X-Vigil-Ingest-Key": key + "x"})
    assert r.status_code == 401 and r.json()["error"] == "Invalid ingest key for this monitor"
    r = await ingest(client, mid, BASE_EVENT, **{"X-Vigil-Ingest-Key": key})
    assert r.status_code == 200
    await client.delete(f"/api/monitors/{mid}/ingest-key", headers=tenant.headers)
    assert (await ingest(client, mid, BASE_EVENT)).status_code == 200
    assert len(await stored(store, mid)) == 2


async def test_pricing_known_cached_client_and_unknown_models(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    monitor = await create_llm(client, tenant)
    mid = monitor["id"]
    cached = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-20250514",
        "promptTokens": 3000,
        "completionTokens": 200,
        "cacheReadTokens": 1000,
        "cacheWriteTokens": 500,
        "latencyMs": 900,
    }
    r = await ingest(client, mid, cached)
    # $3 input, $0.30 cache read, $3.75 cache write, $15 output per million tokens.
    expected = (1500 * 3 + 1000 * 0.3 + 500 * 3.75 + 200 * 15) / 1e6
    assert r.json()["data"]["costUsd"] == pytest.approx(expected, rel=1e-9)
    reference = calc_price(
        Usage(input_tokens=3000, output_tokens=200, cache_read_tokens=1000, cache_write_tokens=500),
        "claude-sonnet-4-20250514",
        provider_id="anthropic",
        genai_request_timestamp=clock.now(),
    ).total_price
    assert Decimal(str(r.json()["data"]["costUsd"])) == pytest.approx(reference)
    r = await ingest(client, mid, {**BASE_EVENT, "costUsd": 0.5})
    assert r.json()["data"]["costUsd"] == 0.5
    r = await ingest(client, mid, {**BASE_EVENT, "model": "acme-private-llm-7"})
    assert r.status_code == 200 and r.json()["data"]["costUsd"] is None
    rows = await stored(store, mid)
    assert [(e.cost_source, e.price_version) for e in rows] == [
        ("genai-prices", PRICE_VERSION),
        ("client", None),
        (None, None),
    ]
    assert rows[2].cost_usd is None


async def test_price_override_wins_over_genai_prices(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await create_llm(client, tenant)
    theirs = await create_llm(client, other_tenant)
    r = await client.put(
        "/api/ai/prices/acme-private-llm-7",
        headers=tenant.headers,
        json={"inputPerMTok": 1.0, "outputPerMTok": 4.0, "cacheReadPerMTok": 0.1},
    )
    assert r.status_code == 200, r.text
    event = {**BASE_EVENT, "model": "acme-private-llm-7", "cacheReadTokens": 50}
    r = await ingest(client, mine["id"], event)
    assert r.json()["data"]["costUsd"] == pytest.approx((100 * 1 + 50 * 0.1 + 80 * 4) / 1e6)
    # Another organization's override does not apply.
    r = await ingest(client, theirs["id"], event)
    assert r.json()["data"]["costUsd"] is None
    listed = (await client.get("/api/ai/prices", headers=tenant.headers)).json()["data"]
    assert [p["model"] for p in listed] == ["acme-private-llm-7"]
    r = await client.put(
        "/api/ai/prices/x", headers=tenant.headers, json={"inputPerMTok": -1, "outputPerMTok": 1}
    )
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "inputPerMTok"
    r = await client.delete("/api/ai/prices/acme-private-llm-7", headers=tenant.headers)
    assert r.json() == {"data": {"deleted": True}}
    r = await ingest(client, mine["id"], event)
    assert r.json()["data"]["costUsd"] is None


async def test_beacon_style_text_plain_posts_are_accepted(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    monitor = await create_llm(client, tenant)
    url = f"/api/ai/ingest/{monitor['id']}"
    raw = json.dumps(BASE_EVENT).encode()
    r = await client.post(url, content=raw, headers={"content-type": "text/plain;charset=UTF-8"})
    assert r.status_code == 200, r.text
    r = await client.post(url, content=raw, headers={"content-type": "application/xml"})
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "Content-Type"
    assert len(await stored(store, monitor["id"])) == 1


async def test_the_lane_keeps_the_request_id_and_sends_nul_the_long_way(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # The lane answers ahead of RequestContextMiddleware: it echoes a client's id itself.
    monitor = await create_llm(client, tenant)
    r = await client.post(
        f"/api/ai/ingest/{monitor['id']}", json=BASE_EVENT, headers={"X-Request-Id": "trace-1234"}
    )
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "trace-1234"
    r = await client.post("/api/ai/ingest/mon_nosuchmonitor0", json=BASE_EVENT)
    assert r.status_code == 404
    assert r.headers["x-request-id"] == r.json()["requestId"]
    r = await client.post(f"/api/ai/ingest/{monitor['id']}?x=%00", json=BASE_EVENT)
    assert r.status_code == 400
    assert r.json()["fields"] == [{"field": "x", "issue": "must not contain NUL characters"}]
